# bench_gateway: event fan-out latency from the registry to N WebSocket
# clients through zflow-gateway (G1), processes as in production, started
# with libs/procs. The WebSocket clients come from libs/wsclient.
add_executable (bench_gateway ${CMAKE_CURRENT_LIST_DIR}/bench_gateway.c
    ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_link_libraries (bench_gateway PRIVATE zf_wsclient zf_procs zf_client zf_proto zf_common
    PkgConfig::CZMQ PkgConfig::ZMQ PkgConfig::MSGPACK PkgConfig::LWS zf_warnings)
if (TARGET zflow-gateway)
    add_dependencies (bench_gateway zflow-gateway zflow-registry zflow-dispatcher zflow-executor)
endif ()
