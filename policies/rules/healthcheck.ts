import { ResourceView, TYPES, displayName, record, strings } from './view';

const FORMS = 'set healthcheck.tests to ["CMD", program, args…] or ["CMD-SHELL", command]';

/**
 * Mandatory: dependents wait for health (`wait: true`), and an image's own HEALTHCHECK cannot be
 * seen from here, so every container states its check. The Docker API accepts `[]` (inherit),
 * `["NONE"]` (disable), `["CMD", …]` and `["CMD-SHELL", command]`; only the last two run a check.
 */
export function healthcheckPresent(view: ResourceView): string[] {
  if (view.type !== TYPES.container) return [];
  const name = displayName(view);
  const tests = strings(record(view.props.healthcheck).tests);
  if (tests.length === 0) return [`container "${name}" has no healthcheck; ${FORMS}`];
  if (tests[0] === 'NONE') return [`container "${name}" disables its healthcheck with ["NONE"]; ${FORMS}`];
  const runsCommand = (tests[0] === 'CMD' || tests[0] === 'CMD-SHELL') && tests.slice(1).some((t) => t.trim() !== '');
  return runsCommand ? [] : [`container "${name}" has a healthcheck that runs no command; ${FORMS}`];
}
