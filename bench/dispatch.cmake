# bench_dispatch: the dispatcher's round-trip latency and no-op throughput,
# against zflow-dispatcher and zflow-executor run as processes (libs/procs).
# It speaks the client side with zf_dclient (libs/procs), as the integration
# tests do.
add_executable (bench_dispatch ${CMAKE_CURRENT_LIST_DIR}/bench_dispatch.c
    ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_link_libraries (bench_dispatch PRIVATE zf_procs zf_proto zf_common PkgConfig::CZMQ
    PkgConfig::ZMQ zf_warnings)
add_dependencies (bench_dispatch zflow-dispatcher zflow-executor)
