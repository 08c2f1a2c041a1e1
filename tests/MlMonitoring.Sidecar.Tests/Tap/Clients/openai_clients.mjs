// Drives an OpenAI-compatible server through the tap with the official `openai` npm client, as an application
// would, and checks with plain fetch that every answer's bytes are the ones the server sends directly.
// Prints, as JSON, what the client was answered through the tap, for the test to compare with the sidecar's metrics.
//
// usage: node openai_clients.mjs <tap base url> <direct base url>
import OpenAI from 'openai';
import assert from 'node:assert/strict';

const [tapBase, directBase] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${tapBase}/v1`, apiKey: 'not-checked', maxRetries: 0 });
const calls = [];

async function raw(base, path, body, headers) {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
}

// Byte identity, through the tap and directly, for each shape of call. Each tap call here is observed too.
async function identical(path, body, headers = {}) {
  const [tapped, direct] = [await raw(tapBase, path, body, headers), await raw(directBase, path, body, headers)];
  assert.equal(tapped.status, direct.status, `${path}: status`);
  assert.equal(tapped.type, direct.type, `${path}: content-type`);
  assert.ok(tapped.bytes.equals(direct.bytes), `${path}: the bytes through the tap differ from the direct ones`);
  return tapped;
}

const ask = (content) => [{ role: 'user', content }];

await identical('/v1/chat/completions', { model: 'tiny-llm', messages: ask('one two three') });
await identical('/v1/chat/completions', { model: 'tiny-llm', messages: ask('one two'), stream: true, stream_options: { include_usage: true } });
await identical('/v1/chat/completions', { model: 'tiny-llm', messages: ask('please fail-midway'), stream: true });
await identical('/v1/completions', { model: 'tiny-llm', prompt: 'a b c d', stream: true, max_tokens: 3 });
await identical('/v1/embeddings', { model: 'tiny-embed', input: 'x y' });
calls.push(
  { op: 'chat', model: 'tiny-llm', stream: false, input: 3, output: 5, finish: 'stop' },
  { op: 'chat', model: 'tiny-llm', stream: true, input: 2, output: 5, finish: 'stop' },
  { op: 'chat', model: 'tiny-llm', stream: true, error: 'stream_error' },
  { op: 'text_completion', model: 'tiny-llm', stream: true, input: null, output: null, chunks: 3, finish: 'length' },
  { op: 'embeddings', model: 'tiny-embed', stream: false, input: 2 });

// The official client, through the tap.
const whole = await client.chat.completions.create(
  { model: 'tiny-llm', messages: ask('hello there model'), max_tokens: 4 }, { headers: { 'x-request-id': 'chat-1' } });
assert.equal(whole.choices[0].message.content, 'token0 token1 token2 token3');
assert.equal(whole.id, 'chatcmpl-chat-1');
calls.push({ op: 'chat', model: 'tiny-llm', stream: false, input: whole.usage.prompt_tokens, output: whole.usage.completion_tokens, finish: whole.choices[0].finish_reason, id: 'chat-1' });

const stream = await client.chat.completions.create(
  { model: 'tiny-llm', messages: ask('stream to me please'), stream: true, stream_options: { include_usage: true } },
  { headers: { 'x-request-id': 'chat-2' } });
let text = '';
let usage = null;
let finish = null;
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content ?? '';
  finish = chunk.choices[0]?.finish_reason ?? finish;
  usage = chunk.usage ?? usage;
}
assert.equal(text, 'token0 token1 token2 token3 token4');
assert.ok(usage, 'include_usage: the last chunk carries usage');
calls.push({ op: 'chat', model: 'tiny-llm', stream: true, input: usage.prompt_tokens, output: usage.completion_tokens, finish, id: 'chat-2' });

const noUsage = await client.chat.completions.create({ model: 'tiny-llm', messages: ask('short'), stream: true, max_tokens: 2 });
let chunks = 0;
for await (const chunk of noUsage) {
  if (chunk.choices[0]?.delta?.content) chunks++;
  finish = chunk.choices[0]?.finish_reason ?? finish;
}
calls.push({ op: 'chat', model: 'tiny-llm', stream: true, input: null, output: null, chunks, finish });

let failed = null;
try {
  const broken = await client.chat.completions.create({ model: 'tiny-llm', messages: ask('fail-midway now'), stream: true });
  for await (const _ of broken) { /* the error arrives after two tokens */ }
} catch (error) {
  failed = error.message;
}
assert.ok(failed && failed.includes('engine died'), `the client sees the stream's error (${failed})`);
calls.push({ op: 'chat', model: 'tiny-llm', stream: true, error: 'stream_error' });

const completion = await client.completions.create({ model: 'tiny-llm', prompt: 'once upon a time' });
calls.push({ op: 'text_completion', model: 'tiny-llm', stream: false, input: completion.usage.prompt_tokens, output: completion.usage.completion_tokens, finish: completion.choices[0].finish_reason });

const embedding = await client.embeddings.create({ model: 'tiny-embed', input: 'embed these three', encoding_format: 'float' });
assert.equal(embedding.data[0].embedding.length, 3);
calls.push({ op: 'embeddings', model: 'tiny-embed', stream: false, input: embedding.usage.prompt_tokens });

process.stdout.write(JSON.stringify({ calls }));
