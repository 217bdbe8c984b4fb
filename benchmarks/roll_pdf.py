"""The printable roll at district scale: lines/s and peak memory of the booth-wise PDF,
the renderer in use (backoffice/services/roll_pdf.py: HarfBuzz shaping each distinct
string once, pages drawn by backoffice/services/shaped_pdf.py) against the one it
replaced (fpdf2's `cell()` with shaping on, kept as benchmarks/roll_pdf_fpdf2.py), and
for reference Typst per booth (benchmarks/roll_pdf_typst.py; run when the `typst`
package is installed: `.venv/bin/pip install typst`; ZIP form only).

    .venv/bin/python benchmarks/roll_pdf.py [--sizes 20000 200000] [--booth-size 100] \\
        [--current-max 20000] [--renderers chosen current typst]
    .venv/bin/python benchmarks/roll_pdf.py --page docs/roll-page-1.png

The second command only draws the documentation's picture of a roll page (a sample
booth with names that exercise conjuncts, reph, matras, long and hostile values), with
`pdftoppm -r 150` (poppler-utils); nothing else writes that file.

Both renderers draw the same generated lines (a seeded mix of Hindi names from Faker's
hi_IN lists and one in ten Indian-English ones, relatives, genders, ages; booths of
--booth-size lines, about what a district's 2 lakh members over its polling booths
give), in both forms: a ZIP of one PDF per booth (`write_roll_pdf_zip`) and one PDF
(`write_roll_pdf`, its 60,000-line cap raised to the size measured). Lines are generated
as they are drawn, as rows come from a cursor, so memory is the renderer's own.

Each case runs in a fresh child process (spawned, not forked: nothing inherited), which
reports its wall time, its CPU time and its peak RSS (VmHWM); `base` is the child's RSS
after its imports, before the job. `cpu l/s` is lines per CPU second of that process:
on a shared machine the wall time also counts other processes' turns, so compare the
CPU rates (the ratio is taken on them); on an idle core the two agree. The output goes
to a sink that only counts bytes.

The former renderer draws about 500-700 lines/s and Typst about 1,700, so past
--current-max lines they are not run: their time is extrapolated from their largest
measured run at the same CPU lines/s (marked "extrapolated"), and their memory is not
measured (fpdf2 planned every page of a one-PDF roll before drawing, so it grows with
the roll; Typst's cache grows with every compile until its compiler is made anew).

Targets (issue 13): >= 3,000 lines/s (stretch 10,000), peak < 200 MB for a 2-lakh
roll job.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import random
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from importlib.util import find_spec
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


def lines(count: int, booth_size: int, seed: int = 13) -> Iterator:
    from faker.providers.person.en_IN import Provider as English
    from faker.providers.person.hi_IN import Provider as Hindi

    from backoffice.services.roll_pdf import RollLine

    rng = random.Random(seed)
    women, men = Hindi.first_names_female, Hindi.first_names_male
    for n in range(count):
        booth, serial = divmod(n, booth_size)
        gender = rng.choice(("female", "male", "male", "other") if n % 97 else ("other",))
        if rng.random() < 0.1:
            name = f"{rng.choice(English.first_names)} {rng.choice(English.last_names)}"
            relative = f"{rng.choice(English.first_names)} {rng.choice(English.last_names)}"
        else:
            last = rng.choice(Hindi.last_names)
            name = f"{rng.choice(women if gender == 'female' else men)} {last}"
            relative = f"{rng.choice(men)} {last}"
        relation = "husband" if gender == "female" and rng.random() < 0.6 else "father"
        yield RollLine(f"{booth + 1}", serial + 1, f"CG{booth + 1:04d}{serial + 1:05d}", name,
                       relative, relation, gender, rng.randint(18, 95))


class Sink(io.RawIOBase):
    """Counts what is written, keeps nothing (an HTTP response or a file would)."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.size += len(chunk)
        return len(chunk)


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for row in status:
            if row.startswith(field + ":"):
                return int(row.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def case(renderer: str, form: str, size: int, booth_size: int, results) -> None:
    """One measurement, in its own process."""
    import faker.providers.person.hi_IN  # noqa: F401 - the generator's, in both bases

    from backoffice.services import roll_pdf as chosen  # the app's imports, in both bases

    if renderer == "chosen":
        module = chosen
    elif renderer == "typst":
        import roll_pdf_typst as module
    else:
        import roll_pdf_fpdf2 as module
    header = chosen.RollHeader(
        title_hi="अंतिम सदस्यता सूची", title_en="Final membership roll",
        unit_hi="बिलासपुर ज़िला", unit_en="Bilaspur district", cut_off=date(2026, 11, 1),
        roll_ref="ROLL-7 v2", generated_at=datetime(2026, 11, 30, 6, 0))
    base = _status_mb("VmRSS")
    sink = Sink()
    cpu = time.process_time()
    started = time.perf_counter()
    if form == "zip":
        written = module.write_roll_pdf_zip(header, lines(size, booth_size), sink)
    else:
        written = module.write_roll_pdf(header, lines(size, booth_size), sink,
                                        max_lines=max(size, 60_000))
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    assert written == size
    results.put((seconds, cpu, base, _status_mb("VmHWM"), sink.size))


NAMES = {"chosen": "chosen: shaped_pdf", "current": "current: fpdf2 cell()",
         "typst": "typst 0.15, per booth"}


def measure(renderer: str, form: str, size: int, booth_size: int) -> tuple:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    child = ctx.Process(target=case, args=(renderer, form, size, booth_size, results))
    child.start()
    outcome = results.get()
    child.join()
    if child.exitcode:
        raise SystemExit(f"{renderer} {form} {size}: the child failed")
    return outcome


SAMPLE = [  # (name, relative, relation, gender, age): what a roll page has to get right
    ("प्रियंका त्रिपाठी", "रमेश त्रिपाठी", "father", "female", 24),
    ("क्षितिज श्रीवास्तव", "अनिल श्रीवास्तव", "father", "male", 31),
    ("कृष्णा द्विवेदी", "सुरेश द्विवेदी", "husband", "female", 45),
    ("श्रद्धा क्षत्रिय", "विष्णु क्षत्रिय", "husband", "female", 38),
    ("Rahul Verma", "Suresh Verma", "father", "male", 27),
    ("ज्योत्स्ना चंद्राकर", "हर्षवर्धन चंद्राकर", "husband", "female", 52),
    ("त्रिलोकीनाथ साहू", "रामप्रसाद साहू", "father", "male", 63),
    ("रुक्मिणी ध्रुव", "कृष्णकुमार ध्रुव", "husband", "female", 41),
    ("धर्मेंद्र कार्यकर्ता", "Dinesh Sahu", "father", "male", 29),
    ("द्वारिका प्रसाद कश्यप", "श्यामलाल कश्यप", "father", "male", 57),
    ("लक्ष्मी नेताम", "प्रीतम नेताम", "husband", "female", 34),
    ("शत्रुघ्न पटेल", "भुवनेश्वर पटेल", "father", "male", 22),
    ("आरती वर्मा", "संतोष वर्मा", "husband", "other", 36),
    ('=HYPERLINK("http://evil.example","x")', "{nb} **not markdown**", "father", "male", 40),
    ("लक्ष्मीनारायण प्रियदर्शी राजेश्वरी प्रसाद द्विवेदी त्रिपाठी श्रीवास्तव", "कृष्णमूर्ति",
     "father", "male", 70),
    ("Venkata Subrahmanya Lakshminarasimha Srinivasa Ramanujam Iyengar Chakravarthy",
     "Parthasarathy Iyengar", "father", "male", 48),
    ("सृष्टि मिश्रा", "प्रद्युम्न मिश्रा", "father", "female", 19),
    ("विक्रम सिंह ठाकुर", "ऋषिकेश ठाकुर", "father", "male", 44),
    ("Pooja Agrawal", "Nitin Agrawal", "husband", "female", 33),
    ("गोपाल यादव", "छबिलाल यादव", "father", "male", 51),
]


def draw_page(path: Path) -> None:
    """Page 1 of a sample booth as a PNG, for the documentation."""
    import subprocess
    import tempfile

    from backoffice.services.roll_pdf import RollHeader, RollLine, render_booth_pdf

    header = RollHeader(
        title_hi="प्रारंभिक सदस्यता सूची", title_en="Preliminary membership roll",
        unit_hi="बिल्हा ब्लॉक, बिलासपुर", unit_en="Bilha block, Bilaspur",
        cut_off=date(2026, 11, 1), roll_ref="ROLL-12 v3",
        generated_at=datetime(2026, 11, 27, 9, 5))
    booth = [RollLine("12", n, f"CG01204{n:04d}", *SAMPLE[(n - 1) % len(SAMPLE)])
             for n in range(1, 51)]
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "roll.pdf"
        pdf.write_bytes(render_booth_pdf(header, "12", booth))
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1",  # noqa: S603, S607
                        "-singlefile", str(pdf), str(path.with_suffix(""))], check=True)
    print(f"wrote {path}")


def generation_rate(size: int, booth_size: int) -> float:
    next(lines(1, booth_size))  # imports
    started = time.process_time()
    for _ in lines(size, booth_size):
        pass
    return size / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--booth-size", type=int, default=100)
    parser.add_argument("--current-max", type=int, default=20_000,
                        help="largest roll fpdf2 and Typst are run on (default 20000)")
    parser.add_argument("--renderers", nargs="+", choices=tuple(NAMES), default=list(NAMES))
    parser.add_argument("--page", type=Path, metavar="PNG",
                        help="only draw page 1 of a sample booth to this PNG")
    args = parser.parse_args()
    if args.page:
        draw_page(args.page)
        return

    print(f"booths of {args.booth_size} lines; generating lines alone: "
          f"{generation_rate(20_000, args.booth_size):,.0f} lines per cpu second "
          "(inside every figure)")
    print(f"{'renderer':<24}{'form':<5}{'lines':>9}{'wall s':>8}{'cpu s':>8}{'lines/s':>9}"
          f"{'cpu l/s':>9}{'base MB':>8}{'peak MB':>8}{'B/line':>7}  note")
    measured: dict[tuple[str, str], tuple[int, float]] = {}
    for size in args.sizes:
        for form in ("zip", "pdf"):
            rates = {}
            for renderer in args.renderers:
                key = (renderer, form)
                if renderer == "typst" and (form == "pdf" or not find_spec("typst")):
                    continue  # ZIP only (roll_pdf_typst.py says why); `pip install typst`
                if renderer != "chosen" and size > args.current_max:
                    if key not in measured:
                        continue
                    ran, rate = measured[key]
                    rates[renderer] = rate
                    print(f"{NAMES[renderer]:<24}{form:<5}{size:>9,}{'-':>8}{size / rate:>8.1f}"
                          f"{'-':>9}{rate:>9,.0f}{'-':>8}{'-':>8}{'-':>7}  extrapolated from "
                          f"{ran:,} lines at its cpu lines/s; memory not measured")
                    continue
                wall, cpu, base, peak, out = measure(renderer, form, size, args.booth_size)
                rates[renderer] = size / cpu
                measured[key] = (size, size / cpu)
                print(f"{NAMES[renderer]:<24}{form:<5}{size:>9,}{wall:>8.1f}{cpu:>8.1f}"
                      f"{size / wall:>9,.0f}{size / cpu:>9,.0f}{base:>8.0f}{peak:>8.0f}"
                      f"{out / size:>7,.0f}", flush=True)
            for other in rates:
                if other != "chosen" and "chosen" in rates:
                    print(f"{'  chosen / ' + other:<24}{form:<5}{size:>9,}{'':>34}"
                          f"{rates['chosen'] / rates[other]:>8.1f}x  (cpu lines/s)", flush=True)


if __name__ == "__main__":
    main()
