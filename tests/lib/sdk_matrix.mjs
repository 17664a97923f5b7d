// The client matrix (issue 12, item 8): each official client library, at its current release,
// runs the same code against an OpenAI-format, an Anthropic, a Gemini and a Bedrock backend of
// sluice-mock (the /openai, /anthropic, /gemini, /bedrock prefixes of startProviderGateway).
// The client-facing code of a test never branches on the backend: what differs between
// providers is data here (the model each is asked for, whether its format returns reasoning
// text). Every row runs for real on every backend.
import assert from 'node:assert/strict';
import { CHAT_MODELS } from './providers.mjs';

export const MATRIX_BACKENDS = ['openai', 'anthropic', 'gemini', 'bedrock'];

export const modelFor = (backend) => CHAT_MODELS[backend];

// Providers whose wire format returns reasoning text. OpenAI chat completions return only a
// token count (`completion_tokens_details.reasoning_tokens`), as the real API does; the
// Responses API on an OpenAI backend returns a reasoning item with a summary when one is asked.
export const REASONING_TEXT = { openai: false, anthropic: true, gemini: true, bedrock: true };

// The text sluice-mock thinks on every provider (docs/mock.md, "Reasoning"), and the summary
// its Responses API gives.
export const MOCK_THINKING = 'The user asked a question. Let me think about it step by step before answering.';
export const MOCK_SUMMARY = '**Answering the question**\n\nThe user asked a question; I answer it directly.';


// The structured-output schema every client asks for: strict (OpenAI's rules: every property
// required, no additional properties), nested, with an enum, an array and an integer.
export const CITY_SCHEMA = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    population: { type: 'integer' },
    coastal: { type: 'boolean' },
    climate: { type: 'string', enum: ['temperate', 'tropical', 'arid'] },
    landmarks: { type: 'array', items: { type: 'string' } },
    location: {
      type: 'object',
      properties: { lat: { type: 'number' }, lon: { type: 'number' } },
      required: ['lat', 'lon'],
      additionalProperties: false,
    },
  },
  required: ['city', 'population', 'coastal', 'climate', 'landmarks', 'location'],
  additionalProperties: false,
};

// Checks `value` against CITY_SCHEMA (the subset it uses), naming the first mismatch.
export function assertMatchesSchema(value, schema = CITY_SCHEMA, where = '$') {
  switch (schema.type) {
    case 'object': {
      assert.ok(value && typeof value === 'object' && !Array.isArray(value), `${where}: an object, got ${JSON.stringify(value)}`);
      for (const key of schema.required ?? []) assert.ok(key in value, `${where}.${key}: required, got ${JSON.stringify(value)}`);
      if (schema.additionalProperties === false)
        for (const key of Object.keys(value)) assert.ok(key in schema.properties, `${where}.${key}: not in the schema`);
      for (const [key, sub] of Object.entries(schema.properties ?? {}))
        if (key in value) assertMatchesSchema(value[key], sub, `${where}.${key}`);
      break;
    }
    case 'array':
      assert.ok(Array.isArray(value), `${where}: an array, got ${JSON.stringify(value)}`);
      value.forEach((item, i) => assertMatchesSchema(item, schema.items, `${where}[${i}]`));
      break;
    case 'integer':
      assert.ok(Number.isInteger(value), `${where}: an integer, got ${JSON.stringify(value)}`);
      break;
    case 'number':
      assert.equal(typeof value, 'number', `${where}: a number, got ${JSON.stringify(value)}`);
      break;
    case 'string':
      assert.equal(typeof value, 'string', `${where}: a string, got ${JSON.stringify(value)}`);
      break;
    case 'boolean':
      assert.equal(typeof value, 'boolean', `${where}: a boolean, got ${JSON.stringify(value)}`);
      break;
    default:
      break;
  }
  if (schema.enum) assert.ok(schema.enum.includes(value), `${where}: one of ${schema.enum}, got ${JSON.stringify(value)}`);
}

// Parses a structured reply and checks it against the schema.
export function parseStructured(text, schema = CITY_SCHEMA) {
  assert.equal(typeof text, 'string', `a JSON text, got ${JSON.stringify(text)}`);
  const value = JSON.parse(text);
  assertMatchesSchema(value, schema);
  return value;
}

// The weather tool every client declares (JSON Schema; the zod-based clients declare the same).
export const WEATHER_PARAMETERS = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
  additionalProperties: false,
};
export const WEATHER_RESULT = '18C and sunny';
// The mock calls a tool when the last user text contains the word "tool".
export const TOOL_PROMPT = 'Use the tool to get the weather in Paris.';
