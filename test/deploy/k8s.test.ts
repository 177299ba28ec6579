// The Kubernetes example (examples/k8s): every manifest validates against the
// Kubernetes API schemas, the pieces fit together (probes on the admin
// ports the configs open, the PDB selecting the namer, env vars the configs
// use provided by the pods), and the meshd configs and dtab held in
// ConfigMaps pass meshd's own checks as a real process.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { ConfigMap, Namespace, Service, type IConfigMap } from "kubernetes-models/v1";
import { DaemonSet, Deployment, StatefulSet, type IDaemonSet, type IDeployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { PodDisruptionBudget, type IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { IIoK8sApiCoreV1Container as Container, IIoK8sApiCoreV1Probe as Probe, IIoK8sApiCoreV1PodSpec as PodSpec } from "kubernetes-models/v1";
import { parse, parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MESHD, runCli } from "../support/process.ts";

const root = new URL("../..", import.meta.url).pathname;
const k8sDir = join(root, "examples/k8s");

interface Manifest {
  readonly file: string;
  readonly doc: Record<string, unknown>;
}

/** The kinds the example may use; anything else fails the test rather than going unchecked. */
const MODELS = new Map<string, new (data: object) => { validate(): void }>([
  ["v1/Namespace", Namespace],
  ["v1/ConfigMap", ConfigMap],
  ["v1/Service", Service],
  ["apps/v1/Deployment", Deployment],
  ["apps/v1/DaemonSet", DaemonSet],
  ["apps/v1/StatefulSet", StatefulSet],
  ["batch/v1/Job", Job],
  ["policy/v1/PodDisruptionBudget", PodDisruptionBudget],
]);

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFiles(path)));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

const isKustomization = (m: Manifest): boolean => m.doc["kind"] === "Kustomization";
const nameOf = (m: Manifest): string => String((m.doc["metadata"] as { name?: unknown } | undefined)?.name);
const idOf = (m: Manifest): string => `${String(m.doc["apiVersion"])}/${String(m.doc["kind"])}/${nameOf(m)}`;

const manifests: Manifest[] = [];

beforeAll(async () => {
  for (const file of await yamlFiles(k8sDir)) {
    for (const d of parseAllDocuments(await readFile(file, "utf8"))) {
      if (d.errors.length > 0) throw new Error(`${relative(root, file)}: ${d.errors.map((e) => e.message).join("; ")}`);
      const doc: unknown = d.toJS();
      if (doc === null) continue;
      expect(typeof doc, `${relative(root, file)} holds a document that is not an object`).toBe("object");
      manifests.push({ file, doc: doc as Record<string, unknown> });
    }
  }
});

/** The one manifest of a kind and name in the base (examples/k8s/*.yaml, not the overlays). */
function find<T>(kind: string, name: string, guard: (v: unknown) => v is T): T {
  const found = manifests.filter((m) => dirname(m.file) === k8sDir && m.doc["kind"] === kind && nameOf(m) === name);
  expect(found.map((m) => relative(root, m.file)), `exactly one ${kind} ${name}`).toHaveLength(1);
  const doc = found[0]?.doc;
  if (!guard(doc)) throw new Error(`${kind} ${name} does not have the expected apiVersion`);
  return doc;
}

function podSpec(workload: IDaemonSet | IDeployment): PodSpec {
  const spec = workload.spec?.template.spec;
  if (spec === undefined) throw new Error(`${workload.kind} ${workload.metadata?.name} has no pod spec`);
  return spec;
}

function container(spec: PodSpec, name: string): Container {
  const c = spec.containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no container ${name}`);
  return c;
}

/** A probe's port as a number, resolving a named port against the container's ports. */
function probePort(c: Container, probe: Probe | undefined): { path: string | undefined; port: number | undefined } {
  const get = probe?.httpGet;
  const port = typeof get?.port === "number" ? get.port : c.ports?.find((p) => p.name === get?.port)?.containerPort;
  return { path: get?.path, port };
}

/** The meshd config text a ConfigMap holds under `config.yaml`. */
function configText(name: string, base = true): string {
  const cm = base
    ? find("ConfigMap", name, ConfigMap.is)
    : manifests.filter((m) => m.doc["kind"] === "ConfigMap" && nameOf(m) === name && dirname(m.file) !== k8sDir).map((m) => m.doc as unknown as IConfigMap)[0];
  const text = cm?.data?.["config.yaml"];
  if (text === undefined) throw new Error(`ConfigMap ${name} has no config.yaml`);
  return text;
}

/** ${VAR} references without a default: the pod must provide each. */
function requiredEnv(configText: string): string[] {
  return [...configText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string);
}

describe("examples/k8s manifests", () => {
  it("are all Kubernetes objects of known kinds that validate against the API schemas", () => {
    const objects = manifests.filter((m) => !isKustomization(m));
    expect(objects.length).toBeGreaterThanOrEqual(15);
    const problems: string[] = [];
    for (const m of objects) {
      const where = `${relative(root, m.file)}: ${String(m.doc["kind"])} ${nameOf(m)}`;
      const Model = MODELS.get(`${String(m.doc["apiVersion"])}/${String(m.doc["kind"])}`);
      if (Model === undefined) {
        problems.push(`${where}: apiVersion ${String(m.doc["apiVersion"])} kind ${String(m.doc["kind"])} is not one this test knows (add it to MODELS)`);
        continue;
      }
      try {
        new Model(m.doc).validate();
      } catch (e) {
        problems.push(`${where}: ${(e as Error).message}`);
      }
      // The schemas allow unknown fields; names at least must be valid DNS labels.
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(nameOf(m))) problems.push(`${where}: invalid name`);
    }
    expect(problems).toEqual([]);
  });

  it("runs the router as a DaemonSet on hostPorts 4140/4141 with the node's name and IP from the downward API", () => {
    const ds = find("DaemonSet", "router", DaemonSet.is);
    const spec = podSpec(ds);
    const router = container(spec, "router");
    const ports = new Map((router.ports ?? []).map((p) => [p.name, p]));
    expect(ports.get("outgoing")).toMatchObject({ containerPort: 4140, hostPort: 4140 });
    expect(ports.get("incoming")).toMatchObject({ containerPort: 4141, hostPort: 4141 });
    // The admin is for probes and Prometheus on the pod IP, never on the node.
    expect(ports.get("admin")?.hostPort).toBeUndefined();
    const fieldOf = (name: string): string | undefined => router.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
    expect(fieldOf("NODE_NAME")).toBe("spec.nodeName");
    expect(fieldOf("HOST_IP")).toBe("status.hostIP");
    const labels = ds.spec?.template.metadata?.labels ?? {};
    const selector = Object.entries(ds.spec?.selector.matchLabels ?? {});
    expect(selector.length).toBeGreaterThan(0);
    for (const [k, v] of selector) expect(labels[k], `pod template label ${k}`).toBe(v);
  });

  it("probes the router's admin port, the one its config opens", () => {
    const spec = podSpec(find("DaemonSet", "router", DaemonSet.is));
    const router = container(spec, "router");
    const config = parse(configText("meshd-router-config")) as { admin: { port: number } };
    expect(probePort(router, router.readinessProbe)).toEqual({ path: "/ready", port: config.admin.port });
    expect(probePort(router, router.livenessProbe)).toEqual({ path: "/live", port: config.admin.port });
    expect(router.resources?.requests).toBeDefined();
    expect(router.resources?.limits?.["memory"]).toBeDefined();
  });

  it("runs the router as a numeric non-root user on a read-only root filesystem, writable only where stateDir points", () => {
    const spec = podSpec(find("DaemonSet", "router", DaemonSet.is));
    const router = container(spec, "router");
    const user = router.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
    expect(user).toBeGreaterThan(0);
    expect(router.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot).toBe(true);
    expect(router.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(router.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(router.securityContext?.capabilities?.drop).toContain("ALL");
    expect(spec.automountServiceAccountToken).toBe(false);

    const config = parse(configText("meshd-router-config")) as { routers: { interpreter: { stateDir?: string } }[] };
    const stateDirs = config.routers.map((r) => r.interpreter.stateDir).filter((d): d is string => d !== undefined);
    expect(stateDirs.length).toBeGreaterThan(0);
    const emptyDirs = new Set((spec.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
    for (const dir of stateDirs) {
      const mount = router.volumeMounts?.find((m) => (dir === m.mountPath || dir.startsWith(`${m.mountPath}/`)) && emptyDirs.has(m.name));
      expect(mount, `stateDir ${dir} is on a writable emptyDir`).toBeDefined();
      expect(mount?.readOnly).not.toBe(true);
    }
  });

  it("gives the router pods every environment variable their config needs", () => {
    const router = container(podSpec(find("DaemonSet", "router", DaemonSet.is)), "router");
    const needed = requiredEnv(configText("meshd-router-config"));
    expect(needed).toContain("HOST_IP");
    const provided = new Set((router.env ?? []).map((e) => e.name));
    expect(needed.filter((n) => !provided.has(n))).toEqual([]);
  });

  it("runs two namer replicas, probed on the admin port its config opens, under a PodDisruptionBudget that selects them", () => {
    const deployment = find("Deployment", "namer", Deployment.is);
    expect(deployment.spec?.replicas).toBe(2);
    const spec = podSpec(deployment);
    const namer = container(spec, "namer");
    const config = parse(configText("meshd-namer-config")) as { admin: { port: number } };
    expect(probePort(namer, namer.readinessProbe)).toEqual({ path: "/ready", port: config.admin.port });
    expect(probePort(namer, namer.livenessProbe)).toEqual({ path: "/live", port: config.admin.port });
    expect(namer.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);

    const pdb: IPodDisruptionBudget = find("PodDisruptionBudget", "namer", PodDisruptionBudget.is);
    const selector = pdb.spec?.selector?.matchLabels;
    expect(selector).toEqual(deployment.spec?.selector.matchLabels);
    // The budget must leave at least one replica, yet allow a drain to evict one.
    expect(pdb.spec?.minAvailable).toBe(1);
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(selector ?? {})) expect(labels[k], `pod template label ${k}`).toBe(v);
  });

  it("puts the namer's Service in front of the namer pods on the port the routers' dst names", () => {
    const deployment = find("Deployment", "namer", Deployment.is);
    const service = find("Service", "namer", Service.is);
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(service.spec?.selector ?? {})) expect(labels[k]).toBe(v);
    const dsts = (parse(configText("meshd-router-config")) as { routers: { interpreter: { dst: string } }[] }).routers.map((r) => r.interpreter.dst);
    for (const dst of dsts) {
      const [, host, port] = /^\/\$\/inet\/([^/]+)\/(\d+)$/.exec(dst) ?? [];
      expect(host).toBe("namer");
      expect(service.spec?.ports?.map((p) => p.port)).toContain(Number(port));
    }
  });

  it("does not enforce a Pod Security level on the namespace that would reject the router's hostPorts", () => {
    const labels = find("Namespace", "meshd", Namespace.is).metadata?.labels ?? {};
    const usesHostPorts = container(podSpec(find("DaemonSet", "router", DaemonSet.is)), "router").ports?.some((p) => p.hostPort !== undefined);
    expect(usesHostPorts).toBe(true);
    // Both "baseline" and "restricted" forbid hostPorts.
    expect(["baseline", "restricted"]).not.toContain(labels["pod-security.kubernetes.io/enforce"]);
    expect(labels["pod-security.kubernetes.io/warn"]).toBe("restricted");
  });

  it("references only ConfigMaps and images that the example defines", () => {
    const configMaps = new Set(manifests.filter((m) => m.doc["kind"] === "ConfigMap").map(nameOf));
    for (const m of manifests) {
      const template = (m.doc["spec"] as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
      for (const v of template?.volumes ?? []) if (v.configMap !== undefined) expect(configMaps, `${idOf(m)} volume ${v.name}`).toContain(v.configMap.name);
      for (const c of template?.containers ?? []) if (c.image?.startsWith("meshd") === true) expect(c.image).toBe("meshd:0.1.0");
    }
  });
});

describe("examples/k8s kustomizations", () => {
  it("list every manifest file of their folder, each of which exists, with no object defined twice", async () => {
    const kustomizations = manifests.filter(isKustomization);
    expect(kustomizations.map((m) => relative(k8sDir, m.file)).sort()).toEqual(["kustomization.yaml", "sentinel/kustomization.yaml"]);
    for (const k of kustomizations) {
      const dir = dirname(k.file);
      const resources = (k.doc["resources"] as string[] | undefined) ?? [];
      const patches = ((k.doc["patches"] as { path?: string }[] | undefined) ?? []).flatMap((p) => (p.path === undefined ? [] : [p.path]));
      for (const r of [...resources, ...patches]) {
        const target = join(dir, r);
        const isDir = (await stat(target)).isDirectory();
        if (isDir) await stat(join(target, "kustomization.yaml"));
      }
      const siblings = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml");
      expect(siblings.filter((f) => !resources.includes(f) && !patches.includes(f)), `${relative(root, k.file)} leaves files out`).toEqual([]);
    }
    // kustomize refuses two objects with one id; the base is built from the top-level files.
    const ids = manifests.filter((m) => dirname(m.file) === k8sDir && !isKustomization(m)).map(idOf);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it("delete from the base, in the Sentinel overlay, only objects the base has, and point the namer at the sentinels", () => {
    const overlay = manifests.find((m) => isKustomization(m) && m.file.endsWith("sentinel/kustomization.yaml"));
    const patches = (overlay?.doc["patches"] as { patch?: string }[] | undefined) ?? [];
    const deleted = patches.flatMap((p) => (p.patch === undefined ? [] : [parse(p.patch) as { $patch?: string; apiVersion: string; kind: string; metadata: { name: string } }]));
    expect(deleted.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual(["Service/redis", "StatefulSet/redis"]);
    const base = new Set(manifests.filter((m) => dirname(m.file) === k8sDir).map(idOf));
    for (const d of deleted) {
      expect(d.$patch).toBe("delete");
      expect(base).toContain(`${d.apiVersion}/${d.kind}/${d.metadata.name}`);
    }
    const storage = (parse(configText("meshd-namer-config", false)) as { storage: { sentinels?: { host: string; port: number }[]; name?: string } }).storage;
    expect(storage.name).toBe("mymaster");
    const sentinelService = manifests.find((m) => m.doc["kind"] === "Service" && nameOf(m) === storage.sentinels?.[0]?.host);
    expect(sentinelService, "the sentinels' Service exists").toBeDefined();
  });
});

describe("meshd configs and dtabs in the ConfigMaps", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "meshd-k8s-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // The env a pod would have: the downward API's values, made up.
  const podEnv = { HOST_IP: "10.0.0.7", NODE_NAME: "node-7", POD_IP: "10.244.1.9" };

  it.each([
    ["meshd-router-config", true, /: ok \(router: 2 router\(s\), 2 server\(s\), admin 0\.0\.0\.0:9990\)/],
    ["meshd-namer-config", true, /: ok \(namer: storage redis, 1 interface\(s\), admin 0\.0\.0\.0:9991\)/],
    ["meshd-namer-config", false, /: ok \(namer: storage redis, 1 interface\(s\), admin 0\.0\.0\.0:9991\)/],
  ])("%s (base: %s) passes `meshd validate`", async (name, base, expected) => {
    const file = join(dir, `${name}-${String(base)}.yaml`);
    await writeFile(file, configText(name, base));
    const result = await runCli(MESHD, ["validate", "--config", file], { env: podEnv, timeoutMs: 60_000 });
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(expected);
    expect(result.code).toBe(0);
  });

  it("the seed job's dtab passes `meshd dtab check`", async () => {
    const dtab = find("ConfigMap", "meshd-dtabs", ConfigMap.is).data?.["default.dtab"];
    expect(dtab).toBeDefined();
    const job = find("Job", "meshd-seed", Job.is);
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual(["dtab", "apply", "default", "/etc/meshd/dtabs/default.dtab"]);
    const result = await runCli(MESHD, ["dtab", "check", "-"], { input: dtab ?? "", timeoutMs: 60_000 });
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("/svc => /#/registry | /#/io.l5d.fs;");
    expect(result.code).toBe(0);
  });
});
