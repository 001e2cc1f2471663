// A small typed client over the generated types (build/api.d.ts, from the node's own OpenAPI
// document). It is only type-checked: if the document stops describing spawn, ps or kill, or their
// answers change shape, `tsc` fails.
import type { components, paths } from "./build/api";

type Schemas = components["schemas"];
type Problem = Schemas["ApiProblem"];

type SpawnOp = paths["/v1/tenants/{tenant}/spawn"]["post"];
type SpawnBody = SpawnOp["requestBody"]["content"]["application/json"];
type SpawnOk = SpawnOp["responses"][200]["content"]["application/json"];
type PsOp = paths["/v1/tenants/{tenant}/processes"]["get"];
type PsOk = PsOp["responses"][200]["content"]["application/json"];
type KillOp = paths["/v1/tenants/{tenant}/processes/{npid}/signal"]["post"];
type KillBody = KillOp["requestBody"]["content"]["application/json"];
type KillNotFound = KillOp["responses"][404]["content"]["application/problem+json"];
type KillConflict = KillOp["responses"][409]["content"]["application/problem+json"];

/** An error answer: the problem details body, with its stable code. */
export class NefeleError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(`${problem.code}: ${problem.detail}`);
  }
}

export class Nefele {
  constructor(private readonly api: string, private readonly key: string, private readonly tenant: string) {}

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const response = await fetch(`${this.api}/v1/tenants/${encodeURIComponent(this.tenant)}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) {
      throw new NefeleError(response.status, (await response.json()) as Problem);
    }
    return response;
  }

  async spawn(body: SpawnBody): Promise<SpawnOk> {
    return (await (await this.call("POST", "/spawn", body)).json()) as SpawnOk;
  }

  async ps(all = false): Promise<PsOk> {
    return (await (await this.call("GET", `/processes${all ? "?all=true" : ""}`)).json()) as PsOk;
  }

  async kill(npid: string, body: KillBody): Promise<void> {
    await this.call("POST", `/processes/${encodeURIComponent(npid)}/signal`, body);
  }
}

// What a program written against the document does with the answers.
export async function tour(nefele: Nefele): Promise<string> {
  const spawned = await nefele.spawn({
    tasks: [{ path: "/bin/sleep", args: ["60"], memoryBytes: 64 * 1024 * 1024, cpuMillis: 250 }],
    count: 2,
  });
  const first: string | undefined = spawned.npids[0];
  if (first === undefined) {
    return "nothing spawned";
  }

  const { processes } = await nefele.ps();
  const mine = processes.find((p) => p.npid === first);
  const state: Schemas["ProcessState"] | undefined = mine?.state;
  const memory: number | undefined = mine?.memoryBytes;
  const exit: number | undefined = mine?.end?.exitCode;

  try {
    await nefele.kill(first, { signal: 15 });
  } catch (e) {
    if (e instanceof NefeleError) {
      const notFound: KillNotFound["code"] = e.problem.code;
      const conflict: KillConflict["status"] = e.status;
      return `${notFound} ${conflict}`;
    }
    throw e;
  }

  return `${first} ${String(state)} ${String(memory)} ${String(exit)}`;
}

// The contract is strict, and so are the types generated from it.
export const misspelt: SpawnBody = {
  // @ts-expect-error "memory" is not a field of a task ("memoryBytes" is)
  tasks: [{ path: "/bin/true", memory: "1Gi" }],
};
export const quoted: SpawnBody = {
  tasks: [{ path: "/bin/true" }],
  // @ts-expect-error counts are numbers, not strings
  count: "3",
};
// @ts-expect-error a signal needs its number
export const unsignalled: KillBody = {};

// A problem's code is one of the catalogue's, so a client can switch on it.
export const known: Problem["code"] = "npid_not_found";
// @ts-expect-error not a code the server sends
export const unknown: Problem["code"] = "no_such_code";
