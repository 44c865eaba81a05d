"""`hotline demo` shows the whole path; `hotline providers import|list` validate and load the directory."""

from __future__ import annotations

import subprocess

from tests.helpers import HOTLINE_BIN, PROJECT_ROOT, hotline_env


def hotline(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([HOTLINE_BIN, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_demo_runs_the_whole_path(tmp_path):
    """The demo screens a caller in Bamako, routes and alerts, gets OK, and escalates a silent case in Gao."""
    result = hotline("demo", "--deadline", "1", "--instance", str(tmp_path / "demo"),
                     env=hotline_env(HOTLINE_INSTANCE_PATH=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "END Merci. Votre référence" in out
    assert "alerted Centre AJDM, Bamako (demo)" in out
    assert "Dossier" in out and "accepte par votre structure" in out
    assert "alert_next_contact" in out
    assert "hand_to_national_desk" in out
    assert "Traceback" not in result.stderr


CSV_HEADER = "id,name,kind,latitude,longitude,place,serves,services,beds_free,hours,languages,contacts,demo\n"
GOOD_ROW = ('shelter.test,"Centre test",shelter,12.65,-8.0,bamako.commune-i,women;girls,shelter,4,24/7,fr;bm,'
            '"Awa: +22376000301;+22376000302",no\n')


def test_import_refuses_a_file_with_bad_rows_and_names_them(tmp_path):
    """Bad rows are reported by row number and reason, and nothing is imported."""
    path = tmp_path / "providers.csv"
    path.write_text(CSV_HEADER + GOOD_ROW + "police.x,Police X,policeman,12.6,-8.0,,women,,,24/7,fr,+22376000303,no\n"
                    + "ngo.y,ONG Y,ngo,95,-8.0,,women,,,24/7,fr,+22376000304,no\n")
    env = hotline_env(DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}", HOTLINE_INSTANCE_PATH=str(tmp_path))
    assert hotline("db", "upgrade", env=env).returncode == 0
    result = hotline("providers", "import", str(path), env=env)
    assert result.returncode == 1
    assert "row 3: kind:" in result.stderr
    assert "row 4: latitude:" in result.stderr
    assert "nothing imported" in result.stderr
    assert "0 providers" in hotline("providers", "list", env=env).stdout


def test_import_valid_only_then_list(tmp_path):
    """--valid-only imports the good rows; list shows them with beds and contacts."""
    path = tmp_path / "providers.csv"
    path.write_text(CSV_HEADER + GOOD_ROW + "bad,,shelter,12.6,-8.0,,women,,,24/7,fr,+22376000305,no\n")
    env = hotline_env(DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}", HOTLINE_INSTANCE_PATH=str(tmp_path))
    hotline("db", "upgrade", env=env)
    result = hotline("providers", "import", "--valid-only", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert "imported 1 providers, 1 bad rows skipped" in result.stdout
    listing = hotline("providers", "list", env=env).stdout
    assert "shelter.test" in listing and "beds   4" in listing and "contacts 2" in listing


def test_demo_directory_imports(tmp_path):
    """The shipped demo directory imports whole, with AJDM in Bamako and Direy Ben in Gao."""
    env = hotline_env(DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}", HOTLINE_INSTANCE_PATH=str(tmp_path))
    hotline("db", "upgrade", env=env)
    result = hotline("providers", "import", "--demo", env=env)
    assert result.returncode == 0, result.stderr
    listing = hotline("providers", "list", env=env).stdout
    assert "shelter.ajdm.bamako" in listing and "shelter.direy-ben.gao" in listing
    assert all(" demo" in line for line in listing.splitlines()[:-1])
