"""Running ``lava-local`` in-process in tests: its exit code and output, its one-line errors."""
from lava_local.cli import main


def run(capsys, *argv):
    """``(exit code, stdout, stderr)`` of ``lava-local argv``."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The one line a failed command writes on stderr (asserting there is one, no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
