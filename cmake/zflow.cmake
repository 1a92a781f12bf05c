# Helpers shared by every CMakeLists.txt in the tree.

set (ZF_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz target runs under ctest")

# zf_test_dirs (TARGET): the source and build folders compiled in, so a test
# run directly finds what CTest would tell it (ZF_SOURCE_DIR, ZF_BUILD_DIR).
function (zf_test_dirs target)
    target_compile_definitions (${target} PRIVATE ZF_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        ZF_TEST_BUILD_DIR="${PROJECT_BINARY_DIR}")
endfunction ()

# zf_unit_test (NAME SOURCES... LIBS libs...): a cmocka test labelled "unit".
function (zf_unit_test name)
    cmake_parse_arguments (T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    if (NOT T_TIMEOUT)
        set (T_TIMEOUT 60)
    endif ()
    if (NOT T_LABELS)
        set (T_LABELS unit)
    endif ()
    add_executable (${name} ${T_SOURCES})
    target_link_libraries (${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA zf_warnings)
    zf_test_dirs (${name})
    add_test (NAME ${name} COMMAND ${name})
    set_tests_properties (${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}"
        ENVIRONMENT "ZF_SOURCE_DIR=${PROJECT_SOURCE_DIR};ZF_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction ()

# zf_fuzz_target (NAME SOURCE LIBS libs...): a libFuzzer target under clang with
# ZF_FUZZ=ON, run for a bounded time on its corpus; otherwise a replay program that
# feeds every file of the corpus to the same entry point.
function (zf_fuzz_target name source)
    cmake_parse_arguments (F "" "" "LIBS" ${ARGN})
    set (corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
    if (ZF_FUZZ)
        add_executable (${name} ${source})
        target_compile_options (${name} PRIVATE -fsanitize=fuzzer)
        target_link_options (${name} PRIVATE -fsanitize=fuzzer)
        target_link_libraries (${name} PRIVATE ${F_LIBS} zf_warnings)
        set (work ${CMAKE_CURRENT_BINARY_DIR}/${name}.corpus)
        add_test (NAME ${name}
            COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
                sh -c "mkdir -p '${work}' && exec $<TARGET_FILE:${name}> -max_total_time=${ZF_FUZZ_SECONDS} -max_len=65536 -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 '${work}' '${corpus}'")
        set_tests_properties (${name} PROPERTIES TIMEOUT 120 LABELS fuzz)
    else ()
        add_executable (${name}_replay ${source} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay.c)
        target_link_libraries (${name}_replay PRIVATE ${F_LIBS} zf_warnings)
        add_test (NAME ${name}_replay COMMAND ${name}_replay ${corpus})
        set_tests_properties (${name}_replay PROPERTIES TIMEOUT 60 LABELS fuzz)
    endif ()
endfunction ()
