// A namer process that serves the name API (bind, addr, resolve) for the
// client's tests, for as long as `meshd namer` does not wire its interpreter
// in yet: the same store, API and admin as startNamer, plus a NameInterpreter
// over the system namers (/$/inet). Run as: node bind-namer-main.ts CONFIG
import { createLogger } from "../../../../lib/log.ts";
import { loadConfig } from "../../../../lib/config.ts";
import { buildAdmin } from "../../../../namer/admin.ts";
import { buildNamerApi, type NamerApi } from "../../../../namer/api/server.ts";
import { namerConfigSchema } from "../../../../namer/config.ts";
import { NameInterpreter } from "../../../../namer/interpreter/interpreter.ts";
import { openStore } from "../../../../namer/main.ts";
import { createNamerMetrics } from "../../../../namer/metrics.ts";

const file = process.argv[2];
if (file === undefined) throw new Error("usage: bind-namer-main.ts CONFIG");
const config = await loadConfig(file, namerConfigSchema);
const logger = createLogger({ level: config.logging.level, name: "namer" });
const store = await openStore(config.storage, logger);
const metrics = createNamerMetrics(store);
const interpreter = new NameInterpreter(store, [], { logger });
const apis: NamerApi[] = [];
for (const iface of config.interfaces) {
  const api = await buildNamerApi({ store, config: iface, metrics, logger, interpreter });
  apis.push(api);
  await api.app.listen({ host: iface.ip, port: iface.port });
  logger.info({ port: iface.port }, "namer API listening");
}
const admin = buildAdmin({ store, metrics, logger, readiness: { notReadyReason: () => undefined } });
await admin.listen({ host: config.admin.ip, port: config.admin.port });
logger.info("namer admin listening");
process.on("SIGTERM", () => {
  void (async () => {
    await Promise.allSettled(apis.map((a) => a.close(config.shutdownGraceMs)));
    interpreter.close();
    await admin.close();
    await store.close();
    process.exit(0);
  })();
});
