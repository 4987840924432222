import crash_example


def test_checksum():
    assert crash_example.checksum(b"\x01\x02") == 3


def test_reads_null_pointer():
    crash_example.read_null()
