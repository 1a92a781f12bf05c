# bench_e2e: workloads W1 to W4 through registry, dispatcher and executors run
# as processes (and M1, their peak memory), started with libs/procs.
add_executable (bench_e2e ${CMAKE_CURRENT_LIST_DIR}/bench_e2e.c
    ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_link_libraries (bench_e2e PRIVATE zf_procs zf_client zf_proto zf_common PkgConfig::CZMQ
    PkgConfig::ZMQ zf_warnings)
add_dependencies (bench_e2e zflow-dispatcher zflow-executor)
if (TARGET zflow-registry)
    add_dependencies (bench_e2e zflow-registry)
endif ()
