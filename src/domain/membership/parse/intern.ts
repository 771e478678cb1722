// Shared, frozen transports and foci: thousands of members use the same few, so parsing reuses one object each.
import type { FocusActive, Transport } from "../model";

/** Distinct transports / foci remembered for sharing; the tables are emptied when full (junk cannot grow them). */
const INTERN_LIMIT = 1024;
/** Stands for an absent optional field in the intern tables' keys (ids and URLs cannot contain it). */
const NONE = "\u0001";
/** type → JWT service URL → alias → SFU URL → transport: looked up with the event's own strings, no key built. */
const transportTable = new Map<string, Map<string, Map<string, Map<string, Transport>>>>();
let transportCount = 0;
const singleLists = new Map<Transport, readonly Transport[]>();
const focusTable = new Map<string, Map<string, FocusActive>>();
let focusCount = 0;

function level<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * Returns a shared, frozen transport equal to the given fields. Thousands of members use the same handful of
 * transports: sharing them saves an object and an array per member. Equal inputs give equal outputs.
 */
export function internTransport(
  type: string,
  service: string | null,
  alias: string | null,
  url: string | null,
): Transport {
  const byAlias = transportTable
    .get(type)
    ?.get(service ?? NONE)
    ?.get(alias ?? NONE);
  const found = byAlias?.get(url ?? NONE);
  if (found !== undefined) return found;
  if (transportCount >= INTERN_LIMIT) {
    transportTable.clear();
    singleLists.clear();
    transportCount = 0;
  }
  const transport: Transport = Object.freeze({ type, livekitServiceUrl: service, livekitAlias: alias, url });
  const byService = level(transportTable, type, () => new Map<string, Map<string, Map<string, Transport>>>());
  const byAliasLevel = level(byService, service ?? NONE, () => new Map<string, Map<string, Transport>>());
  level(byAliasLevel, alias ?? NONE, () => new Map<string, Transport>()).set(url ?? NONE, transport);
  transportCount++;
  return transport;
}

/** A shared, frozen one-element list of an interned transport. */
export function singleList(transport: Transport): readonly Transport[] {
  let list = singleLists.get(transport);
  if (list === undefined) {
    list = Object.freeze([transport]);
    singleLists.set(transport, list);
  }
  return list;
}

export function internFocus(type: string, focusSelection: string | null): FocusActive {
  const found = focusTable.get(type)?.get(focusSelection ?? NONE);
  if (found !== undefined) return found;
  if (focusCount >= INTERN_LIMIT) {
    focusTable.clear();
    focusCount = 0;
  }
  const focus: FocusActive = Object.freeze({ type, focusSelection });
  level(focusTable, type, () => new Map<string, FocusActive>()).set(focusSelection ?? NONE, focus);
  focusCount++;
  return focus;
}
