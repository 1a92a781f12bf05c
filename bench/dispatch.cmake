# bench_dispatch: the dispatcher's round-trip latency and no-op throughput,
# against zflow-dispatcher and zflow-executor run as processes (libs/procs).
# It speaks the client side with the same helper the integration tests use.
add_executable (bench_dispatch ${CMAKE_CURRENT_LIST_DIR}/bench_dispatch.c
    ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c
    ${PROJECT_SOURCE_DIR}/tests/integration/dclient.c)
target_include_directories (bench_dispatch PRIVATE ${PROJECT_SOURCE_DIR}/tests/integration)
target_link_libraries (bench_dispatch PRIVATE zf_procs zf_proto zf_common PkgConfig::CZMQ
    PkgConfig::ZMQ zf_warnings)
add_dependencies (bench_dispatch zflow-dispatcher zflow-executor)
