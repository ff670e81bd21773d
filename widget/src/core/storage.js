// Key/value string storage behind one small interface {get(key), set(key, value)}, so tests
// inject a memory store and a broken localStorage (private mode, disabled, quota) never breaks
// the widget.

/** A store kept in memory: the test double. */
export function createMemoryStore(initial = {}) {
  const data = { ...initial };
  return {
    get: (key) => (key in data ? data[key] : null),
    set: (key, value) => {
      data[key] = String(value);
    },
  };
}

/**
 * Wrap a Web Storage getter (e.g. `() => localStorage`: merely reading `window.localStorage` can
 * throw). Values are mirrored in memory; after the first failure (disabled storage, private
 * mode, quota) memory alone answers for the rest of the page view, so reads never go stale.
 */
export function createSafeStore(getBacking) {
  const mem = {};
  let broken = false;
  return {
    get(key) {
      if (!broken) {
        try {
          return getBacking().getItem(key);
        } catch {
          broken = true;
        }
      }
      return key in mem ? mem[key] : null;
    },
    set(key, value) {
      mem[key] = value;
      try {
        if (!broken) getBacking().setItem(key, value);
      } catch {
        broken = true;
      }
    },
  };
}

/** Read a JSON value; corrupt or missing data reads as `null`. */
export function readJSON(store, key) {
  try {
    return JSON.parse(store.get(key));
  } catch {
    return null;
  }
}
