# zflow-settle: an example worker program with an in-process handler (libs/worker).
add_executable (zflow-settle ${CMAKE_CURRENT_LIST_DIR}/settle.c)
target_link_libraries (zflow-settle PRIVATE zf_worker zf_service zf_warnings)
