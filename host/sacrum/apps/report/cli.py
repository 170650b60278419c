"""Commands: ``sacrum report``, ``sacrum sessions``, ``sacrum export-tables``, ``sacrum batch``.

Registered by ``sacrum.apps.cli.build_parser`` through :func:`add_parser`. Library errors
(ValueError and its kin: SessionError, BatchError, CaptureError) become one line and exit 1
in ``sacrum.apps.cli.main``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _analyze_options(args: argparse.Namespace) -> dict:
    return {k: v for k, v in (("task", args.task), ("mount", args.mount),
                              ("bands", args.bands)) if v is not None}


def _names(args: argparse.Namespace):
    """The clinician's name map: --names, else $SACRUM_NAMES, else beside the library."""
    from sacrum.apps.names import NameMap, default_names_path
    from sacrum.apps.sessions import Library

    names = getattr(args, "names", None)
    return NameMap(names or default_names_path(Library(args.library).root))


def _open(item: str, args: argparse.Namespace) -> list:
    """The sessions of one SESSION argument (``sessions.open_sessions``). A capture whose
    mounting cannot be found, analysed without --task and --mount, gets one line that says
    which file and what to give: the analysis finds the mounting from walking or running
    only, and an exercise needs --task and --mount (docs/analysis-json.md)."""
    from sacrum.apps.sessions import open_sessions
    from sacrum.signal.mounting import MountingError

    try:
        return open_sessions([item], args.person or "", args.date, **_analyze_options(args))
    except MountingError as e:
        if args.task or args.mount:
            raise
        raise MountingError(
            f"{Path(item).name}: {e}. Without --mount the mounting is found from walking or "
            "running only: for an exercise give --task NAME --mount SPEC (docs/exercises.md)"
            ) from None


def cmd_report(args: argparse.Namespace) -> int:
    from sacrum.apps.report import build_report, write_html, write_pdf
    from sacrum.apps.report.content import Disclosure
    from sacrum.apps.sessions import Library, check_person_id

    items = list(args.session)
    if args.person:
        check_person_id(args.person)  # a name never heads a report as if it were an ID
    if args.person and not items:  # the person's whole folder in the library
        items = [str(Library(args.library).person_folder(args.person))]
    if not items:
        raise ValueError("give SESSION (capture, analysis JSON, library folder) or --person")
    sessions = sorted((s for item in items for s in _open(item, args)), key=lambda s: s.date)
    name = None
    if args.show_name:
        person = sessions[-1].person_id if sessions else ""
        names = _names(args)
        name = names.get(person) if person else None
        if not name:
            raise ValueError(f"--show-name: no name for {person or 'a session without an ID'} "
                             f"in {names.path}; set one with `sacrum sessions names set "
                             f"{person or 'ID'} NAME`, or leave --show-name out")
    report = build_report(sessions, Disclosure(name=name, file_name=args.show_file,
                                               device_name=args.show_device))
    write_html(report, args.out)
    print(f"wrote {args.out} ({len(sessions)} session{'s' if len(sessions) > 1 else ''}, "
          f"{len(report.figures)} figures)")
    if args.pdf:
        write_pdf(report, args.pdf)
        print(f"wrote {args.pdf}")
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from sacrum.apps.sessions import Library

    lib = Library(args.library)
    action = getattr(args, "action", None)
    if action == "names":
        return _cmd_names(args)
    if action == "migrate":
        return _cmd_migrate(args, lib)
    if action == "add":
        if _names(args).is_a_name(args.person):
            raise ValueError(f"{args.person!r} is a name in the name map, not a pseudonym: give "
                             "the person's ID (e.g. P017)")
        s = lib.add(args.capture, args.person, args.date, task=args.task, mount=args.mount,
                    bands=args.bands)
        summ = s.analysis["summary"]
        score = "no score" if summ["score"] is None else f"score {summ['score']:.0f}"
        # the file name (which may name the person) is said here, not kept in the library
        print(f"added {s.folder} ({score}; from {Path(args.capture).name})")
        return 0
    if action == "reanalyze":
        sessions = lib.sessions(args.person)
        if not sessions:
            raise ValueError(f"no sessions in {lib.root}" + (f" for {args.person}"
                                                            if args.person else ""))
        changed = 0
        for s in sessions:
            changes = lib.reanalyze(s, update=args.update, rel_tol=args.rel_tol,
                                    abs_tol=args.abs_tol)
            was = s.analysis.get("sacrum_version")
            if not changes:
                print(f"{s.folder}: reproduced (stored by sacrum {was})")
                continue
            changed += 1
            print(f"{s.folder}: {len(changes)} fields changed since sacrum {was}"
                  + (" (stored analysis replaced; the old one kept)" if args.update else ""))
            for c in changes[:args.show]:
                print(f"  {c}")
            if len(changes) > args.show:
                print(f"  ... and {len(changes) - args.show} more")
        return 0
    # "list" or no action: the library's sessions
    sessions = lib.sessions(args.person)
    if not sessions:
        print(f"no sessions in {lib.root}; add one with `sacrum sessions add CAPTURE --person ID`")
        return 0
    print(f"{'person':<12} {'date':<10}  {'score':>5}  {'drop L':>6}  {'drop R':>6}  "
          f"{'version':<8} folder")
    for s in sessions:
        summ = s.analysis["summary"]
        drop = summ.get("contralateral_drop_deg") or {}
        def f(x, fmt):
            return format(x, fmt) if x is not None else "–"
        print(f"{s.person_id:<12} {s.date:<10}  {f(summ.get('score'), '5.0f'):>5}  "
              f"{f(drop.get('L'), '5.1f'):>6}  {f(drop.get('R'), '5.1f'):>6}  "
              f"{s.analysis.get('sacrum_version', '?'):<8} {s.folder}")
    return 0


def _cmd_names(args: argparse.Namespace) -> int:
    from sacrum.apps.sessions import check_person_id

    names = _names(args)
    what = getattr(args, "names_action", None)
    if what == "set":
        names.set(check_person_id(args.id), args.name)
        print(f"{args.id}: name set in {names.path} (0600; shown only by `sacrum report "
              "--show-name`)")
        return 0
    if what == "remove":
        if not names.remove(args.id):
            raise ValueError(f"{args.id} has no name in {names.path}")
        print(f"{args.id}: name removed from {names.path}")
        return 0
    known = names.names
    if not known:
        print(f"no names in {names.path}; set one with `sacrum sessions names set ID NAME`")
    for pid, name in sorted(known.items()):
        print(f"{pid:<12} {name}")
    return 0


def _cmd_migrate(args: argparse.Namespace, lib) -> int:
    from sacrum.apps.sessions import migrate_library

    rename = {}
    for item in args.rename or []:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise ValueError(f"--rename {item!r}: give OLD=NEW, e.g. --rename anna=P018")
        rename[old] = new
    m = migrate_library(lib.root, _names(args), rename=rename)
    if not (m.renamed or m.made_private or m.analyses_rewritten or m.persons_renamed):
        print(f"{lib.root} is already a library of this format: nothing to do")
        return 0
    print(f"migrated {lib.root}: {len(m.renamed)} session folders renamed to <date>_<n>, "
          f"{len(m.persons_renamed)} person folders renamed, {m.analyses_rewritten} analyses "
          f"without their file paths, {m.made_private} files and folders made private "
          f"(0600/0700); {len(m.original_files)} original file names moved to "
          f"{_names(args).path}")
    for old, new in sorted(m.renamed.items()):
        print(f"  {old} -> {new}")
    return 0


def cmd_export_tables(args: argparse.Namespace) -> int:
    """Every table from the one analysis of the input (``sacrum.analyze``, run once)."""
    from sacrum.analysis import analyze
    from sacrum.apps import exports

    steps_out = args.steps or args.strides
    if not (args.samples or steps_out or args.mobgap or args.sto):
        raise ValueError("give at least one of --samples, --steps, --mobgap, --sto")
    result = analyze(args.input, **_analyze_options(args))
    if steps_out:
        n = exports.write_steps_csv(result, steps_out)
        print(f"wrote {n} steps to {steps_out}")
    if args.samples:
        n = exports.write_samples_csv(result, args.samples)
        print(f"wrote {n:,} samples to {args.samples}")
    if args.mobgap:
        filled = exports.write_mobgap_csv(result, args.mobgap)
        print(f"wrote the mobgap table to {args.mobgap}"
              + (f" ({filled} lost samples interpolated)" if filled else ""))
    if args.sto:
        n = exports.write_opensense_sto(result, args.sto)
        print(f"wrote {n:,} orientations to {args.sto}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from sacrum.apps.batch import print_summary, run_batch

    result = run_batch(args.folder, args.out, jobs=args.jobs, scheduler=args.scheduler,
                       options=_analyze_options(args),
                       progress=None if args.quiet else sys.stderr)
    print_summary(result, Path(args.out))
    # every result is written either way; a script still learns that some files failed
    return 2 if result.failed else 0


def _analysis_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--task", help="analyse the whole recording as this task (as sacrum analyze)")
    s.add_argument("--mount", help='sensor axes, e.g. "recommended" (as sacrum analyze)')
    s.add_argument("--bands", metavar="FILE", help="a clinic's bands (as sacrum analyze)")


def add_parser(sub) -> None:
    """Register the commands (``sacrum.apps.cli.build_parser`` calls this)."""
    lib_help = "the sessions library (default: $SACRUM_LIBRARY or ~/sacrum-sessions)"
    names_help = ("the clinician's name map (default: $SACRUM_NAMES or LIBRARY.names.json "
                  "beside the library)")

    s = sub.add_parser("report", help="clinician report of one or more sessions (HTML, PDF)")
    s.add_argument("session", nargs="*",
                   help="capture, analysis JSON, library session folder or person folder")
    s.add_argument("--out", required=True, help="the HTML report to write")
    s.add_argument("--pdf", help="also write the same report as PDF")
    s.add_argument("--person", help="pseudonymous person ID; alone: all of the person's "
                                    "sessions in the library")
    s.add_argument("--date", help="recording date (YYYY-MM-DD); default: the capture's")
    s.add_argument("--library", help=lib_help)
    s.add_argument("--names", metavar="FILE", help=names_help)
    s.add_argument("--show-name", action="store_true",
                   help="show the person's name from the clinician's name map (default: the "
                        "pseudonym only)")
    s.add_argument("--show-file", action="store_true",
                   help="show the recording's file name (default: not shown)")
    s.add_argument("--show-device", action="store_true",
                   help="show the sensor's name (default: firmware and IMU only)")
    _analysis_args(s)
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("sessions", help="list, add or re-analyse the sessions library; "
                                        "names, migrate")
    s.add_argument("--library", help=lib_help)
    s.add_argument("--names", metavar="FILE", help=names_help)
    s.add_argument("--person", help="only this person")
    s.set_defaults(func=cmd_sessions, action=None)
    acts = s.add_subparsers(dest="action")
    a = acts.add_parser("list", help="the sessions in the library: person, date, score, "
                                     "drop per stance side, version, folder (the default)")
    a.add_argument("--person", default=argparse.SUPPRESS, help="only this person")
    a.add_argument("--library", default=argparse.SUPPRESS, help=lib_help)
    a = acts.add_parser("add", help="copy a capture into the library and analyse it")
    a.add_argument("capture")
    a.add_argument("--person", required=True, help="pseudonymous person ID (e.g. P017)")
    a.add_argument("--date", help="recording date (YYYY-MM-DD); default: the capture's")
    a.add_argument("--library", default=argparse.SUPPRESS, help=lib_help)
    _analysis_args(a)
    a = acts.add_parser("reanalyze", help="analyse stored captures again with this version "
                                          "and say what changed")
    # SUPPRESS: an option given before the action is not reset by the action's default
    a.add_argument("--person", default=argparse.SUPPRESS, help="only this person")
    a.add_argument("--library", default=argparse.SUPPRESS, help=lib_help)
    a.add_argument("--update", action="store_true",
                   help="store the new analysis when it differs (the old one is kept)")
    a.add_argument("--rel-tol", type=float, default=1e-6, help="relative tolerance")
    a.add_argument("--abs-tol", type=float, default=1e-6,
                   help="absolute tolerance, in each field's unit")
    a.add_argument("--show", type=int, default=20, help="changes listed per session")
    a = acts.add_parser("migrate", help="convert a library of an earlier sacrum: pseudonymous "
                                        "folder names, private files, names to the name map")
    a.add_argument("--library", default=argparse.SUPPRESS, help=lib_help)
    a.add_argument("--names", metavar="FILE", default=argparse.SUPPRESS, help=names_help)
    a.add_argument("--rename", action="append", metavar="OLD=NEW",
                   help="a person folder named by a name: its new code (the old name goes to "
                        "the name map)")
    a = acts.add_parser("names", help="the clinician's name map (pseudonym -> name), kept "
                                      "apart from the library")
    a.add_argument("--names", metavar="FILE", default=argparse.SUPPRESS, help=names_help)
    a.add_argument("--library", default=argparse.SUPPRESS, help=lib_help)
    a.set_defaults(names_action="list")
    na = a.add_subparsers(dest="names_action")
    n_list = na.add_parser("list", help="every pseudonym with its name")
    n_set = na.add_parser("set", help="set a pseudonym's name")
    n_set.add_argument("id", help="the pseudonymous ID (e.g. P017)")
    n_set.add_argument("name", help="the person's name")
    n_remove = na.add_parser("remove", help="forget a pseudonym's name")
    n_remove.add_argument("id", help="the pseudonymous ID")
    for n in (n_list, n_set, n_remove):
        n.add_argument("--names", metavar="FILE", default=argparse.SUPPRESS, help=names_help)
        n.add_argument("--library", default=argparse.SUPPRESS, help=lib_help)

    s = sub.add_parser("export-tables",
                       help="per-sample and per-step CSV, mobgap table, OpenSense .sto")
    s.add_argument("input", help="a capture (.sacrum) or an IMU CSV (as sacrum analyze)")
    s.add_argument("--samples", metavar="CSV", help="one row per sample (docs/exports.md)")
    s.add_argument("--steps", metavar="CSV", help="one row per step (docs/exports.md)")
    s.add_argument("--strides", metavar="CSV", help=argparse.SUPPRESS)  # the former --steps
    s.add_argument("--mobgap", metavar="CSV", help="the lower-back IMU table mobgap reads")
    s.add_argument("--sto", metavar="FILE", help="OpenSense quaternion orientations (.sto)")
    _analysis_args(s)
    s.set_defaults(func=cmd_export_tables)

    s = sub.add_parser("batch", help="analyse a folder of captures in parallel into one table")
    s.add_argument("folder", help="searched recursively for *.sacrum")
    s.add_argument("--out", required=True, help="results table: .csv or .parquet")
    s.add_argument("--jobs", type=int, default=1, help="worker processes on this machine")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask scheduler (tcp://host:8786) to run on instead")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _analysis_args(s)
    s.set_defaults(func=cmd_batch)
