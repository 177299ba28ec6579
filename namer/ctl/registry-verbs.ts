// `namerctl register`, `deregister` and `instances`: the service registry
// behind a meshd.registry namer, for operators and for scripts that keep an
// instance registered (`register --heartbeat`) while it runs.
import { Option, type Command } from "commander";
import type { Instance } from "./answers.ts";
import type { RegistrationInput } from "./client.ts";
import { ApiError } from "./errors.ts";
import { heartbeatInterval, keepRegistered, sleep } from "./heartbeat.ts";
import { formatInstances, parseHostPort, parseMeta, parseService, parseTtl, type HostPort } from "./instances.ts";
import { explain, failed, print, printJson, printWatch, step } from "./output.ts";
import { interruptOf, type VerbContext } from "./verb.ts";

export const NO_REGISTRY = "this namer has no registry (configure a meshd.registry namer)";

/** The namer's answer to a registry request in an operator's words. */
export function registryWords(e: ApiError): string {
  if (e.code === "NAMER_ERR_NO_ROUTE") return NO_REGISTRY;
  if (e.status === 400) return e.message;
  return explain(e);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms} ms`;
}

interface RegisterOptions {
  readonly ttl?: number;
  readonly meta?: Record<string, string | number>;
  readonly heartbeat?: boolean;
  readonly json?: boolean;
}

export function addRegistryVerbs(program: Command, ctx: VerbContext): void {
  const { io, verb, clientOf } = ctx;
  const now = (): number => io.now?.() ?? Date.now();

  verb(program, "register")
    .description("register an instance of a service (again: a heartbeat); with --heartbeat keep it registered until interrupted, then deregister it")
    .argument("<service>", "the service name, as in /#/registry/<service>", parseService)
    .argument("<host:port>", "where the instance listens, e.g. 10.0.0.1:8080 or [fd00::1]:8080", parseHostPort)
    .addOption(new Option("--ttl <seconds>", "seconds until it expires unless it registers again (default: the namer's, 30)").argParser(parseTtl))
    .addOption(new Option("--meta <key=value...>", "instance meta, e.g. zone=eu-1a nodeName=node-7 weight=2 (repeatable; weight is a number)").argParser(parseMeta))
    .option("--heartbeat", "register again every ttl/3 until interrupted (SIGINT or SIGTERM), then deregister")
    .option("--json", "print the instance as JSON (with --heartbeat, one line, then a line when deregistered)")
    .action(async (service: string, at: HostPort, opts: RegisterOptions, cmd: Command) => {
      const client = clientOf(cmd);
      const registration: RegistrationInput = {
        host: at.host,
        port: at.port,
        ...(opts.ttl === undefined ? {} : { ttlSeconds: opts.ttl }),
        ...(opts.meta === undefined ? {} : { meta: opts.meta }),
      };
      const register = (): Promise<Instance> => client.register(service, registration);
      const first = await step(`register ${service} ${at.id}`, register, registryWords);
      if (opts.heartbeat !== true) {
        if (opts.json === true) printJson(io, first);
        else print(io, `registered ${service} ${first.id}: it expires at ${first.expiresAt} (ttl ${first.ttlSeconds}s) unless it registers again (--heartbeat does)`);
        return;
      }

      const signal = interruptOf(io);
      if (opts.json === true) io.stdout(JSON.stringify(first) + "\n");
      else print(io, `registered ${service} ${first.id} (ttl ${first.ttlSeconds}s); heartbeating every ${seconds(heartbeatInterval(first.ttlSeconds))} until interrupted, then deregistering`);
      try {
        await keepRegistered(first, { register, signal, sleep, say: (text) => io.stderr(`namerctl: ${text}\n`) });
      } catch (e) {
        throw failed(`heartbeat ${service} ${first.id} (it expires unless something registers it again)`, e, registryWords);
      }
      let gone = "deregistered";
      try {
        await client.deregister(service, first.id);
      } catch (e) {
        // Expired during an outage, or removed by an operator: either way it is not registered, as asked.
        if (!(e instanceof ApiError && e.isNotFound)) throw failed(`deregister ${service} ${first.id}`, e, registryWords);
        gone = "already gone";
      }
      if (opts.json === true) io.stdout(JSON.stringify({ service, id: first.id, deregistered: gone === "deregistered" }) + "\n");
      else print(io, gone === "deregistered" ? `deregistered ${service} ${first.id}` : `${service} ${first.id} was already gone (expired or deregistered)`);
    });

  verb(program, "deregister")
    .description("remove an instance of a service from the registry")
    .argument("<service>", "the service name", parseService)
    .argument("<host:port>", "the instance, as registered", parseHostPort)
    .option("--json", 'print {"service", "id", "deregistered": true}')
    .action(async (service: string, at: HostPort, opts: { json?: boolean }, cmd: Command) => {
      await step(`deregister ${service} ${at.id}`, () => clientOf(cmd).deregister(service, at.id), registryWords);
      if (opts.json === true) printJson(io, { service, id: at.id, deregistered: true });
      else print(io, `deregistered ${service} ${at.id}`);
    });

  verb(program, "instances")
    .description("list the live instances of a service: id, zone, node, weight, time until it expires")
    .argument("<service>", "the service name", parseService)
    .option("--watch", "print the list again at every change, until interrupted")
    .option("--json", "print the instances as JSON (with --watch, one array a line)")
    .action(async (service: string, opts: { watch?: boolean; json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const render = (instances: readonly Instance[]): string => formatInstances(service, instances, now());
      if (opts.watch === true) {
        const signal = interruptOf(io);
        await step(`instances ${service}`, () => printWatch(io, client.watchInstances(service, signal), { json: opts.json === true, render }), registryWords);
        return;
      }
      const instances = await step(`instances ${service}`, () => client.instances(service), registryWords);
      if (opts.json === true) printJson(io, instances);
      else print(io, render(instances));
    });
}
