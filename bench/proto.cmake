# bench_proto: encode and decode rates of the hot wire bodies.
add_executable (bench_proto ${CMAKE_CURRENT_LIST_DIR}/bench_proto.c)
target_link_libraries (bench_proto PRIVATE zf_proto zf_warnings)
