// An event record's JSON text, made once per record and reused by every
// retry, fallback URL and target that sends the same record (a record is
// immutable once queued). The router, which parses the event's JSON into the
// record, hands the text over so nothing serialises it a second time.

const serialised = new WeakMap<object, string>();

/** Records that `text` is JSON.stringify(record), for a caller that had the text anyway. */
export function rememberSerialised(record: object, text: string): void {
  serialised.set(record, text);
}

/** JSON.stringify(record), made once per record. */
export function recordJson(record: object): string {
  let text = serialised.get(record);
  if (text === undefined) serialised.set(record, (text = JSON.stringify(record)));
  return text;
}
