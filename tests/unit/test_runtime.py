"""Process tuning at start-up (hamacho_core.runtime)."""


def test_allocator_tuning_applies_on_glibc() -> None:
    import platform

    from hamacho_core.runtime import tune_allocator

    assert tune_allocator() == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
