# bench_archiver: the archiver's write rate into SQLite and PostgreSQL (A1,
# a registry simulated in the program), and its lag behind the registry
# during W1 (A2); the archiver, and in A2 registry, dispatcher and executors,
# run as processes (libs/procs). Without --pg it starts a private PostgreSQL
# server with the test harness's script.
add_executable (bench_archiver ${CMAKE_CURRENT_LIST_DIR}/bench_archiver.c
    ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_compile_definitions (bench_archiver PRIVATE ZF_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries (bench_archiver PRIVATE zf_procs zf_store zf_core zf_client zf_proto
    zf_common PkgConfig::CZMQ PkgConfig::ZMQ zf_warnings)
add_dependencies (bench_archiver zflow-archiver zflow-dispatcher zflow-executor)
if (TARGET zflow-registry)
    add_dependencies (bench_archiver zflow-registry)
endif ()
