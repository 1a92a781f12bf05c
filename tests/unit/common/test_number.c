/*  Tests of zf_number: whole numbers in a range, anything else refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zf_number.h"

static void
test_numbers_in_range (void **state)
{
    assert_int_equal (zf_number_parse ("0", 0, 10), 0);
    assert_int_equal (zf_number_parse ("10", 0, 10), 10);
    assert_int_equal (zf_number_parse ("4096", 1, 4096), 4096);
}

static void
test_anything_else_is_refused (void **state)
{
    const char *bad[] = {"", "11", "-1", "3x", "3 ", "0x10", "1e3", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal (zf_number_parse (bad[i], 0, 10), -1);
    assert_int_equal (zf_number_parse ("0", 1, 10), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_numbers_in_range),
        cmocka_unit_test (test_anything_else_is_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
