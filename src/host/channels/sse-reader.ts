// Reads a server-sent-event stream (the web chat's reply stream) into events. Used by `warren chat`,
// and by the tests and the benchmark, which talk to Warren as any client would.

export interface ServerSentEvent {
  event: string;
  id: string;
  data: string;
}

/** Yields each complete event (comments and keep-alive pings skipped) until the stream ends. */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  let pending = '';
  let event = 'message';
  let id = '';
  let data: string[] = [];
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) yield { event, id, data: data.join('\n') };
        event = 'message';
        id = '';
        data = [];
        continue;
      }
      const colon = line.indexOf(':');
      if (colon === 0) continue; // a comment, e.g. ": ping"
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
  }
}
