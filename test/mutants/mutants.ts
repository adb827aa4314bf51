/**
 * Bash mutants of the ops script templates (StrykerJS mutates TypeScript only, not templates/ops/*.hbs):
 * each is one small textual replacement that breaks a decision the scripts make, and names the unit test
 * files that must fail once it is applied. `test/mutants/run.ts` applies each in a copy of the project and
 * runs those files there; a mutant they do not kill is a missing test. `original` must occur exactly once
 * in `file`, or the runner stops: edit the mutant with the template, so that none silently stops applying.
 */
export interface Mutant {
  /** Short and stable: `M` and a number. */
  readonly id: string;
  /** Template, relative to the project root. */
  readonly file: string;
  /** Exact text, occurring exactly once in `file`. */
  readonly original: string;
  readonly replacement: string;
  /** What breaks at runtime, in one line. */
  readonly reason: string;
  /** Unit test files (relative to the project root) of which at least one must fail. */
  readonly tests: readonly string[];
}

const LIB = 'templates/ops/kytes-lib.sh.hbs';
const VERIFY_TEST = 'test/ops/verify.test.ts';
const OFFHOST_TEST = 'test/ops/offhost.test.ts';
const PRUNE_TEST = 'test/ops/prune.test.ts';
const ARGS_TEST = 'test/ops/args.test.ts';

export const MUTANTS: readonly Mutant[] = [
  // --- verify_dir: what makes a backup directory valid ---------------------------------------------
  {
    id: 'M01',
    file: LIB,
    original: '[ "$actual" = "$sha" ] || problems+=',
    replacement: 'true || problems+=',
    reason: 'checksum comparison skipped: a flipped byte at the same size verifies',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M02',
    file: LIB,
    original: 'if [ "$actual" != "$size" ]; then',
    replacement: 'if false; then',
    reason: 'size check skipped: a truncated artifact is reported as altered, not truncated',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M03',
    file: LIB,
    original: 'if [ ! -f "$dir/$file" ] || [ -L "$dir/$file" ]; then',
    replacement: 'if [ ! -f "$dir/$file" ]; then',
    reason: 'symlink guard removed: an artifact linked to a file outside the backup verifies',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M04',
    file: LIB,
    original: 'if [ ! -f "$dir/$file" ] || [ -L "$dir/$file" ]; then',
    replacement: 'if [ -L "$dir/$file" ]; then',
    reason: 'missing-file guard removed: stat fails on stderr and the message no longer says missing',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M05',
    file: LIB,
    original: '[ "$actual" = "$id" ] || { printf',
    replacement: 'true || { printf',
    reason: "manifest id not compared with its directory: another backup's manifest copied in is accepted",
    tests: [VERIFY_TEST],
  },
  {
    id: 'M06',
    file: LIB,
    original: 'manifest_problems "$dir/manifest.json" || return 1',
    replacement: 'manifest_problems "$dir/manifest.json" >/dev/null || true',
    reason: 'schema verdict ignored: a manifest of an unknown format version verifies',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M07',
    file: LIB,
    original: '[ -f "$dir/manifest.json" ] || { printf \'manifest.json: missing\\n\'; return 1; }',
    replacement: ':',
    reason: 'missing-manifest guard removed: a backup without manifest is reported as invalid JSON',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M08',
    file: LIB,
    original: '((${#problems[@]} == 0)) || {',
    replacement: '((${#problems[@]} != 0)) || {',
    reason: "verify_dir's verdict inverted: damaged backups verify, sound ones fail",
    tests: [VERIFY_TEST],
  },
  {
    id: 'M09',
    file: LIB,
    original: '  ((${#problems[@]} == 0)) || {\n    printf \'%s\\n\' "${problems[@]}"',
    replacement: "  ((${#problems[@]} == 0)) || {\n    printf '%s\\n' ${problems[@]}",
    reason: 'quotes dropped: each problem is split into words, the message no longer names the problem',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M10',
    file: LIB,
    original: 'mv -f "$1/.verified.new" "$1/verified"',
    replacement: ':',
    reason: 'rename of the verified marker skipped: a backup that verifies is never marked verified',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M11',
    file: LIB,
    original: '  rm -f "$1/verified"\n  jq -nc',
    replacement: '  jq -nc',
    reason: 'a backup that fails verification keeps its old verified mark (retention and copies trust it)',
    tests: [VERIFY_TEST],
  },
  // --- kytes-verify ---------------------------------------------------------------------------------
  {
    id: 'M12',
    file: 'templates/ops/kytes-verify.hbs',
    original: '    mark_failed "$dir" "$problems"',
    replacement: '    :',
    reason: 'kytes-verify does not record a failure: the verified mark stays on a damaged backup',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M13',
    file: 'templates/ops/kytes-verify.hbs',
    original: '((${#failures[@]} == 0)) || die',
    replacement: '((${#failures[@]} >= 0)) || die',
    reason: 'comparison inverted to always true: kytes-verify exits 0 on a damaged backup',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M14',
    file: 'templates/ops/kytes-verify.hbs',
    original: '    mark_verified "$dir"',
    replacement: '    :',
    reason: 'kytes-verify does not record success: a verified backup is never counted by retention',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M15',
    file: 'templates/ops/kytes-verify.hbs',
    original: '[ -d "$dir" ] || [ -n "$RESTIC_REPO" ] || die',
    replacement: 'true || die',
    reason: 'guard removed: verifying a backup that does not exist succeeds',
    tests: [ARGS_TEST],
  },
  {
    id: 'M16',
    file: LIB,
    original: "ID_PATTERN='^[0-9]{8}T[0-9]{6}Z(-[a-z0-9]+)?$'",
    replacement: "ID_PATTERN='^[0-9]{8}T[0-9]{6}Z(-[a-z0-9]+)?'",
    reason: 'id pattern unanchored at the end: 20261122T040000Z/.. passes and names the backup directory itself',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M17',
    file: LIB,
    original: 'ensure_backup_dir() { mkdir -p "$BACKUP_DIR" && chmod 0700 "$BACKUP_DIR"; }',
    replacement: 'ensure_backup_dir() { mkdir -p "$BACKUP_DIR" && chmod 0755 "$BACKUP_DIR"; }',
    reason: 'file mode: the backup directory (gitlab-secrets.json inside) becomes world-readable',
    tests: [VERIFY_TEST],
  },
  {
    id: 'M18',
    file: LIB,
    original: 'then flock -n 9; else',
    replacement: 'then true; else',
    reason: 'lock not taken: a prune runs while a backup or restore holds the lock',
    tests: [ARGS_TEST],
  },
  // --- kytes-restore: the backup is checked before anything -----------------------------------------
  {
    id: 'M19',
    file: 'templates/ops/kytes-restore.hbs',
    original: 'if ! problems=$(verify_dir "$dir" "$id"); then',
    replacement: 'if false && ! problems=$(verify_dir "$dir" "$id"); then',
    reason: 'restore skips verification: a damaged backup goes on to the containers',
    tests: [VERIFY_TEST],
  },
  // --- off-host copy to a path ----------------------------------------------------------------------
  {
    id: 'M20',
    file: LIB,
    original: 'problems=$(verify_dir "$target/.tmp-$id" "$id")',
    replacement: 'problems=$(verify_dir "$src" "$id")',
    reason: 'the source is verified instead of the copy: a corrupting cp gives a copy marked verified',
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M21',
    file: LIB,
    original: '    rm -f "$target/.tmp-$id/verified" "$target/.tmp-$id/verify-failed"',
    replacement: '    :',
    reason: "the source's verified mark is copied along: a copy that fails verification looks verified",
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M22',
    file: LIB,
    original: '    return\n  fi\n  is_verified "$id" || die',
    replacement: '    return\n  fi\n  true || die',
    reason: 'guard removed: an unverified backup is copied off-host',
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M23',
    file: LIB,
    original: 'if problems=$(verify_dir "$target/$id" "$id"); then',
    replacement: 'if true; then',
    reason: 'a copy already off-host is kept without checking: a damaged copy is never replaced',
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M24',
    file: LIB,
    original: 'cp -a --no-preserve=mode -- "$src/."',
    replacement: 'cp -a -- "$src/."',
    reason: "file mode: the off-host copy takes the local directory's mode, world-readable when that was loosened",
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M25',
    file: LIB,
    original: '    sync -- "$target/.tmp-$id"/* "$target/.tmp-$id"',
    replacement: '    :',
    reason: 'fsync skipped: the off-host copy is renamed before its data is on disk',
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M26',
    file: LIB,
    original: '    mv -T -- "$target/.tmp-$id" "$target/$id"',
    replacement: '    cp -a -- "$target/.tmp-$id/." "$target/$id/"',
    reason: 'rename replaced by a copy: the final name fills in gradually and .tmp-ID is left behind',
    tests: [OFFHOST_TEST],
  },
  // --- kytes-offhost-fetch (path) -------------------------------------------------------------------
  {
    id: 'M27',
    file: 'templates/ops/kytes-offhost-fetch.hbs',
    original: 'problems=$(verify_dir "$tmp" "$id") || die',
    replacement: 'problems=$(verify_dir "$tmp" "$id") || log',
    reason: 'a fetched copy that does not verify is renamed into the backup directory and marked verified',
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M28',
    file: 'templates/ops/kytes-offhost-fetch.hbs',
    original: 'chmod 0700 "$tmp"',
    replacement: ':',
    reason: 'file mode: a fetched backup keeps the off-host copy mode, world-readable when that was loosened',
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M29',
    file: 'templates/ops/kytes-offhost-fetch.hbs',
    original: 'sync -- "$tmp"/* "$tmp"',
    replacement: ':',
    reason: 'fsync skipped: the fetched backup is renamed before its data is on disk',
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M30',
    file: 'templates/ops/kytes-offhost-fetch.hbs',
    original: 'mv -T -- "$tmp" "$BACKUP_DIR/$id"',
    replacement: ':',
    reason: 'rename skipped: the fetched backup is removed with its temporary directory',
    tests: [OFFHOST_TEST],
  },
  {
    id: 'M31',
    file: 'templates/ops/kytes-offhost-fetch.hbs',
    original: '[ ! -e "$BACKUP_DIR/$id" ] || die',
    replacement: 'true || die',
    reason: 'guard removed: a fetch runs over a backup already there and fails late, without saying why',
    tests: [OFFHOST_TEST],
  },
  // --- retention ------------------------------------------------------------------------------------
  {
    id: 'M32',
    file: LIB,
    original: '  ((keep_last > 0)) || keep_last=1\n',
    replacement: '',
    reason: 'keep_last=1 guard removed: --keep-last 0 --keep-daily 0 --keep-weekly 0 deletes every backup',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M33',
    file: LIB,
    original: 'if [ "$flag" = 1 ]; then verified+=("$id"); fi',
    replacement: 'verified+=("$id")',
    reason: 'unverified backups count as kept ones: the newest verified backup can be deleted',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M34',
    file: LIB,
    original: 'if ((i < keep_last)); then',
    replacement: 'if ((i <= keep_last)); then',
    reason: 'off by one: --keep-last N keeps N+1',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M35',
    file: LIB,
    original: '((${#days[@]} < keep_daily))',
    replacement: '((${#days[@]} <= keep_daily))',
    reason: 'off by one: --keep-daily D keeps D+1 days',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M36',
    file: LIB,
    original: '((${#seen_weeks[@]} < keep_weekly))',
    replacement: '((${#seen_weeks[@]} <= keep_weekly))',
    reason: 'off by one: --keep-weekly W keeps W+1 weeks',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M37',
    file: LIB,
    original: 'date -u -f - +%G-W%V)',
    replacement: 'date -u -f - +%Y-W%U)',
    reason: 'calendar year and Sunday weeks instead of ISO weeks: the weekly backups differ around a year end',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M38',
    file: LIB,
    original: '    elif [ "$4" = 1 ]; then',
    replacement: '    elif [ "$4" = 0 ]; then',
    reason: 'dry-run test inverted: --dry-run deletes and a real prune only prints',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M39',
    file: LIB,
    original: '    if valid_id "$d"; then printf \'%s\\n\' "$d"; fi\n  done | sort -r',
    replacement: '    printf \'%s\\n\' "$d"\n  done | sort -r',
    reason: 'any directory counts as a backup: prune deletes lost+found and whatever else is there',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M40',
    file: LIB,
    original: '  done | sort -r\n}\nis_verified()',
    replacement: '  done | sort\n}\nis_verified()',
    reason: 'backups listed oldest first: retention keeps the oldest instead of the newest',
    tests: [PRUNE_TEST],
  },
  {
    id: 'M41',
    file: 'templates/ops/kytes-prune.hbs',
    original: '--keep-last) count "$1" "${2:-}" && last=$((10#$2))',
    replacement: '--keep-last) count "$1" "${2:-}" && last=$2',
    reason: 'a count with a leading zero is read as octal: --keep-last 08 fails in arithmetic and keeps 1',
    tests: [PRUNE_TEST],
  },
];
