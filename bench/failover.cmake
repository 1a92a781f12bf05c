# bench_failover: F1, the failover time of a registry pair under work, with
# `zflow up --pair` started as a process (libs/procs) and its active
# registry killed; the events of both registries read with CZMQ.
add_executable (bench_failover ${CMAKE_CURRENT_LIST_DIR}/bench_failover.c
    ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_link_libraries (bench_failover PRIVATE zf_procs zf_client zf_proto zf_common
    PkgConfig::CZMQ PkgConfig::ZMQ zf_warnings)
add_dependencies (bench_failover zflow zflow-dispatcher zflow-executor)
foreach (service zflow-registry zflow-archiver zflow-gateway)
    if (TARGET ${service})
        add_dependencies (bench_failover ${service})
    endif ()
endforeach ()
