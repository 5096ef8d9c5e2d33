import { KVError } from "./errors.js";
import { redactUrl, SECRET_PARAM } from "./redact.js";

/**
 * The KV URL grammar, parsed in one place: `@kv/context` (`createKV(url)`) and every
 * backend that takes a URL (`@kv/redis`) read the same `KVUrl`, and nothing turns it back
 * into text to be parsed again.
 */

/** One `host[:port]` of a KV URL. */
export interface KVUrlHost {
  readonly host: string;
  /** `undefined` when the URL gives none: the backend's default applies. */
  readonly port: number | undefined;
}

/**
 * A parsed KV URL: `scheme://[user[:password]@]host[:port][,host[:port]…][/path][?query]`.
 *
 * WHATWG `URL` cannot parse the cluster form (`redis-cluster://h1:7000,h2:7001`), so KV
 * URLs have this small parser of their own. Userinfo and host names are percent-decoded;
 * `redacted` is the text to show anyone (errors, logs): it never contains the password.
 */
export interface KVUrl {
  /** The scheme, lower-cased, without `:` or `//`: `"memory"`, `"redis"`, … */
  readonly scheme: string;
  readonly username: string;
  /** `""` when none. Never put it in a message: use `redacted`. */
  readonly password: string;
  /** The hosts in order; empty when the URL names none (`memory://`, `redis://`). */
  readonly hosts: readonly KVUrlHost[];
  /** What follows the hosts up to the query, e.g. `"/2"`; `""` when none. */
  readonly path: string;
  readonly params: URLSearchParams;
  /** The URL as given, with the password (and secret-looking query values) replaced by `***`. */
  readonly redacted: string;
  /**
   * Who the URL was given to (`"createKV"`, `"RedisBackend"`): errors about the URL, its
   * options included, name it, whoever finds them.
   */
  readonly source: string;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
/** `[::1]` (an IPv6 literal keeps its brackets out of the host name) or a name, then `:port`. */
const HOST = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d*))?$/;

/**
 * A KV_INVALID_ARGUMENT error about a URL: `source: what (got [part in] "url")`, the URL
 * redacted. `part` is the offending piece, already rendered for the message.
 */
export function urlError(
  url: KVUrl | string,
  what: string,
  part?: string,
  source?: string,
): KVError {
  const shown = JSON.stringify(typeof url === "string" ? redactUrl(url) : url.redacted);
  const where = source ?? (typeof url === "string" ? "createKV" : url.source);
  return new KVError(
    "KV_INVALID_ARGUMENT",
    `${where}: ${what} (got ${part === undefined ? "" : `${part} in `}${shown})`,
  );
}

function decode(part: string, text: string, what: string, source: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw urlError(text, `the ${what} in the URL is not valid percent-encoding`, undefined, source);
  }
}

function parseHost(part: string, text: string, source: string): KVUrlHost {
  const match = HOST.exec(part);
  if (match === null) {
    // The part itself is not shown: with an unencoded "/" in a password, the "host"
    // here is a piece of the userinfo.
    throw urlError(
      text,
      "each host must be host or host:port, with / @ : in a user name or password percent-encoded",
      undefined,
      source,
    );
  }
  const name = match[1]!;
  const host = name.startsWith("[") ? name.slice(1, -1) : decode(name, text, "host", source);
  const portText = match[2];
  if (portText === undefined || portText === "") return { host, port: undefined };
  const port = Number(portText);
  if (!/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw urlError(text, "a port must be an integer from 1 to 65535", undefined, source);
  }
  return { host, port };
}

/**
 * Parses a KV URL. Throws KV_INVALID_ARGUMENT, never showing the password; `source`
 * names the caller in messages (default `"createKV"`).
 */
export function parseKVUrl(text: string, source = "createKV"): KVUrl {
  if (typeof text !== "string") {
    throw new KVError("KV_INVALID_ARGUMENT", `${source}: a URL must be a string`);
  }
  const scheme = SCHEME.exec(text);
  if (scheme === null) {
    throw urlError(
      text,
      "a KV URL starts with a scheme and :// (for example memory:// or redis://host:6379)",
      undefined,
      source,
    );
  }
  const rest = text.slice(scheme[0].length);
  const hashAt = rest.indexOf("#");
  const withoutHash = hashAt === -1 ? rest : rest.slice(0, hashAt);
  const queryAt = withoutHash.indexOf("?");
  const beforeQuery = queryAt === -1 ? withoutHash : withoutHash.slice(0, queryAt);
  const query = queryAt === -1 ? "" : withoutHash.slice(queryAt + 1);

  const slash = beforeQuery.indexOf("/");
  const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash === -1 ? "" : beforeQuery.slice(slash);

  const at = authority.lastIndexOf("@");
  const userinfo = at === -1 ? "" : authority.slice(0, at);
  const hostList = at === -1 ? authority : authority.slice(at + 1);
  const colon = userinfo.indexOf(":");
  const username = decode(
    colon === -1 ? userinfo : userinfo.slice(0, colon),
    text,
    "user name",
    source,
  );
  const password = colon === -1 ? "" : decode(userinfo.slice(colon + 1), text, "password", source);

  const hosts =
    hostList === "" ? [] : hostList.split(",").map((part) => parseHost(part, text, source));
  return {
    scheme: scheme[1]!.toLowerCase(),
    username,
    password,
    hosts,
    path,
    params: new URLSearchParams(query),
    redacted: redactUrl(text),
    source,
  };
}

/**
 * The type of a query option:
 * - `"integer"`: a non-negative decimal integer (`10`, not `1e1`, `0x0a` or `+10`);
 * - `"number"`: a non-negative decimal number (`0.5`);
 * - `"number|false"`: a number, or `false` to turn the feature off;
 * - `"boolean"`: `true` or `false`;
 * - `"string"`: taken as it is (after percent-decoding).
 *
 * Ranges (a positive `max`, …) are the backend's to check: it knows its own rules and
 * says so with the option's name.
 */
export type OptionType = "integer" | "number" | "number|false" | "boolean" | "string";

/** The options a scheme accepts in its query string, by name. */
export type OptionSpec = Readonly<Record<string, OptionType>>;

type ValueOf<T extends OptionType> = T extends "string"
  ? string
  : T extends "boolean"
    ? boolean
    : T extends "number|false"
      ? number | false
      : number;

/** The options of a query, typed after their spec; absent ones are left out. */
export type OptionsOf<S extends OptionSpec> = { -readonly [K in keyof S]?: ValueOf<S[K]> };

const INTEGER = /^(0|[1-9][0-9]*)$/;
const NUMBER = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

function parseValue(
  url: KVUrl,
  name: string,
  type: OptionType,
  raw: string,
): string | number | boolean {
  const got = SECRET_PARAM.test(name) ? "***" : JSON.stringify(raw);
  switch (type) {
    case "string":
      return raw;
    case "boolean":
      if (raw === "true" || raw === "false") return raw === "true";
      throw urlError(url, `option ${name} must be true or false`, got);
    case "number|false":
      if (raw === "false") return false;
      if (NUMBER.test(raw)) return Number(raw);
      throw urlError(url, `option ${name} must be a non-negative number or false`, got);
    case "number":
      if (NUMBER.test(raw)) return Number(raw);
      throw urlError(url, `option ${name} must be a non-negative number`, got);
    case "integer": {
      const n = Number(raw);
      if (INTEGER.test(raw) && Number.isSafeInteger(n)) return n;
      throw urlError(url, `option ${name} must be a non-negative integer`, got);
    }
  }
}

/**
 * Reads the query options of `url` after `spec`: every name must be in the spec and given
 * once, every value must parse as its type. Anything else is KV_INVALID_ARGUMENT naming the
 * valid options. Every scheme (built-in or custom) reads its query with it, so every one
 * fails the same way.
 *
 * @example
 * const { path, maxValueBytes } = readUrlOptions(url, { path: "string", maxValueBytes: "integer" });
 */
export function readUrlOptions<const S extends OptionSpec>(url: KVUrl, spec: S): OptionsOf<S> {
  const out: Record<string, string | number | boolean> = {};
  const valid = Object.keys(spec);
  for (const [name, raw] of url.params) {
    if (!Object.hasOwn(spec, name)) {
      const list = valid.length === 0 ? "none" : valid.join(", ");
      throw urlError(
        url,
        `unknown option for ${url.scheme}://, valid options: ${list}`,
        JSON.stringify(name),
      );
    }
    if (Object.hasOwn(out, name))
      throw urlError(url, "each option may be given once", `${JSON.stringify(name)} twice`);
    out[name] = parseValue(url, name, spec[name]!, raw);
  }
  return out as OptionsOf<S>;
}
