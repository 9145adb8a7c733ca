/** A listing walked by its links alone: `links.next` to the end, then `links.prev` back to
 * the start. The client never builds a page URL; cursors are opaque (docs/pagination.md). */
import { expectStatus, Session } from "./http.js";
import { emit } from "./log.js";

interface Page {
  data: Record<string, unknown>[];
  links: { self: string; next: string | null; prev: string | null };
}

async function fetchPage(session: Session, url: string): Promise<Page> {
  return expectStatus(await session.call("GET", url), 200).body as Page;
}

export async function walk(
  session: Session,
  listing: string,
  first: string,
  idField: string,
): Promise<void> {
  const forward: string[] = [];
  const back: string[] = [];
  let pagesForward = 0;
  let pagesBack = 0;
  let page = await fetchPage(session, first);
  for (;;) {
    const ids = page.data.map((item) => String(item[idField]));
    pagesForward += 1;
    forward.push(...ids);
    emit("page", { listing, direction: "next", number: pagesForward, url: page.links.self, ids });
    if (page.links.next === null) break;
    page = await fetchPage(session, page.links.next);
  }
  while (page.links.prev !== null) {
    page = await fetchPage(session, page.links.prev);
    const ids = page.data.map((item) => String(item[idField]));
    pagesBack += 1;
    back.unshift(...ids);
    emit("page", { listing, direction: "prev", number: pagesBack, url: page.links.self, ids });
  }
  emit("listing", {
    listing,
    pages_forward: pagesForward,
    pages_back: pagesBack,
    ids: forward,
    ids_back: back,
  });
}
