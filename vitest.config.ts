// Test runner settings: every suite under test/, real processes and sockets,
// so tests run in forked workers with generous timeouts for process start-up.
//
// Two projects. `core` (npm test) needs Node and redis-server only. `system`
// (npm run test:system) drives the other programs the deliverables are
// checked against: a headless Chromium for the admin pages and docker-compose
// for docker-compose.yml (Debian: apt-get install chromium docker-compose).
// CI runs both; a missing program fails the run, saying what to install.
import { configDefaults, defineConfig } from "vitest/config";

const SYSTEM = ["test/browser/**/*.test.ts", "test/deploy/compose.test.ts"];

export default defineConfig({
  test: {
    globalSetup: ["./test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      { extends: true, test: { name: "core", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, ...SYSTEM] } },
      { extends: true, test: { name: "system", include: SYSTEM } },
    ],
  },
});
