import { healthcheckPresent } from '../rules/healthcheck';
import { container, volume } from './fixtures';

const FORMS = 'set healthcheck.tests to ["CMD", program, args…] or ["CMD-SHELL", command]';

describe('healthcheck-present', () => {
  test.each([
    [['CMD', 'pg_isready', '-U', 'postgres']],
    [['CMD-SHELL', 'redis-cli -a "$REDIS_PASSWORD" ping | grep -q PONG']],
  ])('accepts %j', (tests) => {
    expect(healthcheckPresent(container('kytes-dev-postgres', { healthcheck: { tests, startPeriod: '30s' } }))).toEqual(
      [],
    );
  });

  test('refuses a container without a healthcheck', () => {
    expect(healthcheckPresent(container('kytes-dev-nginx', { healthcheck: undefined }))).toEqual([
      `container "kytes-dev-nginx" has no healthcheck; ${FORMS}`,
    ]);
  });

  test('refuses an empty test list, which inherits whatever the image says', () => {
    expect(
      healthcheckPresent(container('kytes-dev-gitlab-main', { healthcheck: { tests: [], interval: '60s' } })),
    ).toEqual([`container "kytes-dev-gitlab-main" has no healthcheck; ${FORMS}`]);
  });

  test('refuses ["NONE"]', () => {
    expect(healthcheckPresent(container('kytes-dev-mongo-0', { healthcheck: { tests: ['NONE'] } }))).toEqual([
      `container "kytes-dev-mongo-0" disables its healthcheck with ["NONE"]; ${FORMS}`,
    ]);
  });

  test.each([[['CMD']], [['CMD-SHELL', '  ']], [['pg_isready']]])('refuses %j, which runs no command', (tests) => {
    expect(healthcheckPresent(container('kytes-dev-redis', { healthcheck: { tests } }))).toEqual([
      `container "kytes-dev-redis" has a healthcheck that runs no command; ${FORMS}`,
    ]);
  });

  test('ignores other resource types', () => {
    expect(healthcheckPresent(volume('kytes-dev-redis-data'))).toEqual([]);
  });
});
