// Reads the MatrixRTC transports the homeserver advertises (MSC4143 rtc/transports, MSC4158 .well-known foci).
import { MatrixHttp } from "./http";

function serviceUrls(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((t: unknown) => {
    if (typeof t !== "object" || t === null) return [];
    const url = (t as Record<string, unknown>).livekit_service_url;
    return typeof url === "string" ? [url] : [];
  });
}

/** The livekit_service_urls the homeserver advertises, by source; sources that do not answer are left out. */
export async function advertisedServiceUrls(http: MatrixHttp): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  try {
    const res = await http.request<Record<string, unknown>>(
      "GET",
      "/_matrix/client/unstable/org.matrix.msc4143/rtc/transports",
      {
        timeoutMs: 5000,
        maxRetries: 0,
      },
    );
    found["rtc/transports"] = serviceUrls(res.rtc_transports);
  } catch {
    // Not supported here.
  }
  try {
    const res = await http.request<Record<string, unknown>>("GET", "/.well-known/matrix/client", {
      anonymous: true,
      timeoutMs: 5000,
      maxRetries: 0,
    });
    const urls = [...serviceUrls(res["org.matrix.msc4143.rtc_foci"]), ...serviceUrls(res["m.rtc_foci"])];
    if (urls.length > 0) found[".well-known"] = urls;
  } catch {
    // No .well-known on the homeserver URL.
  }
  return found;
}
