# bench_core: the engine alone - opening a million task instances, completion
# rate (results applied, successors made ready, orders taken), memory per instance.
add_executable (bench_core ${CMAKE_CURRENT_LIST_DIR}/bench_core.c)
target_link_libraries (bench_core PRIVATE zf_core zf_warnings)
