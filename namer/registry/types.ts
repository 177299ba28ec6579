// The service registry behind meshd.registry: instances register themselves
// with a TTL and heartbeat by registering again; an instance that stops
// heartbeating expires. Implemented in memory and on Redis; one contract
// suite (test/namer/registry/contract.ts) runs both.

/** What an instance says about itself. Values are strings or numbers. */
export interface InstanceMeta {
  /** The host or node it runs on. */
  readonly nodeName?: string;
  readonly zone?: string;
  /** Relative load-balancing weight (default 1). */
  readonly weight?: number;
  readonly [key: string]: string | number | undefined;
}

/** A registration or heartbeat. */
export interface Registration {
  readonly host: string;
  /** 1–65535. */
  readonly port: number;
  /** Seconds until the instance expires unless it registers again; > 0 and at most the backend's maxTtlSeconds. */
  readonly ttlSeconds: number;
  readonly meta?: InstanceMeta | undefined;
}

/** A live instance as stored. */
export interface Instance {
  readonly service: string;
  /** host:port ([v6]:port for IPv6): registering the same host and port again is a heartbeat. */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly ttlSeconds: number;
  readonly meta: Readonly<Record<string, string | number>>;
  /** ISO-8601 time of the registration this instance has been alive since (heartbeats keep it). */
  readonly registeredAt: string;
  /** ISO-8601 time it expires unless it heartbeats. */
  readonly expiresAt: string;
}

export type Unsubscribe = () => void;

export interface RegistryBackend {
  /**
   * Registers an instance of `service`, or heartbeats it when its host:port
   * is registered and live: the TTL starts again, meta is replaced,
   * registeredAt is kept. NAMER_ERR_INVALID_REQUEST for an invalid service
   * name or registration; NAMER_ERR_STORE_UNAVAILABLE when Redis is down.
   */
  register(service: string, registration: Registration): Promise<Instance>;
  /** Removes an instance; false when it was not registered (or had expired). */
  deregister(service: string, id: string): Promise<boolean>;
  /** The live instances of a service, sorted by id. */
  instances(service: string): Promise<readonly Instance[]>;
  /** The services that have at least one live instance, sorted. */
  services(): Promise<readonly string[]>;
  /**
   * Calls `listener` with the service's live instances once they are known,
   * then whenever they change: an instance registers, deregisters, changes
   * its meta or TTL, or expires as time passes. A heartbeat that only moves
   * expiresAt is not a change. `onError` hears why the instances cannot be
   * read (Redis down); the last reported set stays the truth meanwhile.
   */
  watch(service: string, listener: (instances: readonly Instance[]) => void, onError?: (error: Error) => void): Unsubscribe;
  close(): Promise<void>;
}

/** Time for the in-memory backend (tests inject one they control). */
export interface RegistryClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `delayMs`; returns a cancel function. */
  schedule(fn: () => void, delayMs: number): () => void;
}
