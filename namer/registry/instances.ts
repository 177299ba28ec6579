// What both registry backends share: checking service names and
// registrations, instance ids, the system clock, and when two views of a
// service's instances differ enough to tell watchers.

import { formatAddress } from "../../dtab/index.ts";
import type { Logger } from "../../lib/log.ts";
import { NamerError } from "../errors.ts";
import type { Instance, Registration, RegistryClock } from "./types.ts";

/** Longest TTL a registration may ask for unless the backend is told otherwise (seconds). */
export const DEFAULT_MAX_TTL_SECONDS = 3600;

/** One path label of safe characters: the name is a dtab label and part of a Redis key (no braces). */
const SERVICE_NAME = /^[A-Za-z0-9_:.$%-]{1,253}$/;

export function isServiceName(service: string): boolean {
  return SERVICE_NAME.test(service);
}

function invalid(message: string): NamerError {
  return new NamerError("NAMER_ERR_INVALID_REQUEST", message);
}

export function checkServiceName(service: string): void {
  if (!isServiceName(service)) {
    throw invalid(`"${service}" is not a service name: 1–253 letters, digits and _ : . $ % -`);
  }
}

/** A registration as stored: checked, with meta reduced to string and number values. */
export interface CheckedRegistration {
  readonly host: string;
  readonly port: number;
  readonly ttlSeconds: number;
  readonly meta: Readonly<Record<string, string | number>>;
}

/** Checks a registration against the rules and the backend's TTL limit; NAMER_ERR_INVALID_REQUEST says what is wrong. */
export function checkRegistration(registration: Registration, maxTtlSeconds: number): CheckedRegistration {
  const { host, port, ttlSeconds } = registration;
  if (typeof host !== "string" || host.trim() === "" || host !== host.trim() || /[\s/]/.test(host)) {
    throw invalid("host must be a non-empty host name or IP address without spaces");
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`port must be an integer 1–65535, not ${String(port)}`);
  if (typeof ttlSeconds !== "number" || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > maxTtlSeconds) {
    throw invalid(`ttlSeconds must be more than 0 and at most ${maxTtlSeconds}, not ${String(ttlSeconds)}`);
  }
  const meta: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(registration.meta ?? {})) {
    if (value === undefined) continue;
    if (typeof value === "number" ? !Number.isFinite(value) : typeof value !== "string") {
      throw invalid(`meta.${key} must be a string or a finite number`);
    }
    meta[key] = value;
  }
  if (meta.weight !== undefined && (typeof meta.weight !== "number" || meta.weight <= 0)) throw invalid("meta.weight must be a positive number");
  for (const key of ["nodeName", "zone"]) {
    if (meta[key] !== undefined && typeof meta[key] !== "string") throw invalid(`meta.${key} must be a string`);
  }
  return { host: host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host, port, ttlSeconds, meta };
}

/** An instance's id: host:port, [v6]:port for IPv6. */
export function instanceId(host: string, port: number): string {
  return formatAddress(host, port);
}

export function byId(a: Instance, b: Instance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function sameMeta(a: Readonly<Record<string, string | number>>, b: Readonly<Record<string, string | number>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** Same instances, ignoring expiresAt: a heartbeat alone is not news for watchers. Both sorted by id. */
export function sameInstances(a: readonly Instance[] | undefined, b: readonly Instance[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    return (
      y !== undefined &&
      x.id === y.id &&
      x.host === y.host &&
      x.port === y.port &&
      x.ttlSeconds === y.ttlSeconds &&
      x.registeredAt === y.registeredAt &&
      sameMeta(x.meta, y.meta)
    );
  });
}

/** Someone watching a service: the listener, and the instances it was last told. */
export interface InstancesWatcher {
  readonly listener: (instances: readonly Instance[]) => void;
  last: readonly Instance[] | undefined;
}

/** Tells a watcher `instances` unless they are the same as last time; a listener that throws is logged, so the others are still told. */
export function tellWatcher(watcher: InstancesWatcher, instances: readonly Instance[], logger: Logger): void {
  if (sameInstances(watcher.last, instances)) return;
  watcher.last = instances;
  try {
    watcher.listener(instances);
  } catch (err) {
    logger.error({ err }, "a registry watcher threw; the others are still told");
  }
}

/** setTimeout cannot wait longer than this (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: RegistryClock = {
  now: () => Date.now(),
  schedule(fn, delayMs) {
    const timer = setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
