// The template rules, checked against Magpie's own examples: the payload in
// docs/configuration.rst ("Webhook Template Payload") and the cases of
// tests/test_webhooks.py (test_webhook_template_substitution and
// test_webhook_template_literal), with the same YAML inputs and outputs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import {
  EVENT_CONTEXT_VARIABLES,
  compileStringTemplate,
  compileTemplate,
  renderTemplate,
  unknownPlaceholders,
} from '../../src/entry/events.js';

// Magpie's parameters: user.name = "test" (or "demo"), user.id = 123.
const params = { user: { name: 'test', id: 123 } };

test("Magpie's documented JSON payload example", () => {
  const spec = parseYaml(`
webhooks:
  - name: demo_webhook
    action: demo
    method: POST
    url: https://receiving-middleware.example.com
    payload:
      user:
        name: "{{user.name}}"
        id: "{{user.id}}"
        str: "'{{user.id}}'"
      msg: Hello {{user.name}}, your ID is {{user.id}}
`) as { webhooks: Array<{ payload: unknown }> };
  const payload = renderTemplate(spec.webhooks[0]!.payload, [{ user: { name: 'demo', id: 123 } }]);
  assert.deepEqual(payload, {
    user: { name: 'demo', id: 123, str: '123' },
    msg: 'Hello demo, your ID is 123',
  });
});

test("Magpie's test_webhook_template_substitution, case by case", () => {
  // Python's \' in Magpie's source is a plain quote by the time YAML reads it.
  const spec = parseYaml(`
payload:
  param:
    name: "{{user.name}}"
    id: "{{user.id}}"
    id_str: "'{{user.id}}'"
    none: user.id               # only plain name, not a template substitution
    str: "{user.name}"          # literal field with '{user.name}', not a template substitution
    obj: {user.name}            # object with field 'user.name', not a template substitution
  compose:
    id: user_{{user.id}}
    msg: Hello {{user.name}}, your ID is {{user.id}}
  key_str:
    "{{user.id}}": "id"
    "{{user.name}}": "name"
  listed:
    - "{{user.id}}"
    - "{{user.name}}"
    - "'{{user.id}}'"
  quoted:
    explicit: "{{user.name}}"
    single: "'{{user.name}}'"
    double: "\\"{{user.name}}\\""
    multi: "\\"''\\"{{user.name}}\\"''\\""
`) as { payload: unknown };
  const expected = {
    param: {
      name: 'test',
      id: 123,
      id_str: '123',
      str: '{user.name}',
      obj: { 'user.name': null },
      none: 'user.id',
    },
    compose: { id: 'user_123', msg: 'Hello test, your ID is 123' },
    key_str: { '123': 'id', test: 'name' },
    listed: [123, 'test', '123'],
    quoted: {
      explicit: 'test',
      single: "'test'",
      double: '"test"',
      multi: `"''"test"''"`,
    },
  };
  assert.deepEqual(renderTemplate(spec.payload, [params]), expected);
  // The compiled form gives the same, every time.
  const compiled = compileTemplate(spec.payload);
  assert.deepEqual(compiled.render([params]), expected);
  assert.deepEqual(compiled.render([params]), expected);
});

test("Magpie's test_webhook_template_literal: a string payload stays a string", () => {
  const spec = parseYaml(`
payload: |
  param: {{user.name}}
  quote: "{{user.id}}"
`) as { payload: string };
  assert.equal(renderTemplate(spec.payload.replace(/\n$/, ''), [params]), 'param: test\nquote: "123"');
});

test('exactly one placeholder keeps the type: numbers, booleans, null, objects, lists', () => {
  const roots = [{ n: 1.5, b: false, z: null, o: { a: [1, { b: 2 }] }, l: [1, 'two'] }];
  assert.equal(renderTemplate('{{n}}', roots), 1.5);
  assert.equal(renderTemplate('{{b}}', roots), false);
  assert.equal(renderTemplate('{{z}}', roots), null);
  assert.deepEqual(renderTemplate('{{o}}', roots), { a: [1, { b: 2 }] });
  assert.deepEqual(renderTemplate('{{l}}', roots), [1, 'two']);
  assert.equal(renderTemplate('{{ n }}', roots), 1.5, 'spaces inside the braces are allowed');
  assert.equal(renderTemplate("'{{b}}'", roots), 'false');
  assert.equal(renderTemplate('"{{n}}"', roots), '1.5');
  assert.equal(renderTemplate('n={{n}} o={{o}} z=[{{z}}]', roots), 'n=1.5 o={"a":[1,{"b":2}]} z=[]');
});

test('nested objects and arrays are walked; non-string leaves are kept as they are', () => {
  const template = { a: [{ b: '{{x}}' }, ['{{y}}', 7, true, null]], '{{y}}': { deep: 'v={{x}}' } };
  assert.deepEqual(renderTemplate(template, [{ x: 1, y: 'k' }]), {
    a: [{ b: 1 }, ['k', 7, true, null]],
    k: { deep: 'v=1' },
  });
});

test('unknown placeholders stay literal, in every position', () => {
  const roots = [{ known: 'K' }];
  assert.equal(renderTemplate('{{missing}}', roots), '{{missing}}');
  assert.equal(renderTemplate("'{{missing}}'", roots), "'{{missing}}'");
  assert.equal(renderTemplate('a {{missing}} {{known}}', roots), 'a {{missing}} K');
  assert.deepEqual(renderTemplate({ '{{missing}}': ['{{ missing }}'] }, roots), { '{{missing}}': ['{{ missing }}'] });
  assert.equal(renderTemplate('{single}', roots), '{single}');
  assert.equal(renderTemplate('{{not a path}}', roots), '{{not a path}}');
});

test('placeholders are listed once each, in order; static templates say so', () => {
  const t = compileTemplate({ a: '{{x}} {{y}}', b: ['{{x}}', "'{{z}}'"], '{{k}}': 1 });
  assert.deepEqual(t.placeholders, ['x', 'y', 'z', 'k']);
  assert.equal(t.isStatic, false);
  assert.equal(compileTemplate({ a: 'plain', b: [1, 2] }).isStatic, true);
});

test('string templates always render strings', () => {
  const roots = [{ n: 5, o: { a: 1 }, z: null }];
  assert.equal(compileStringTemplate('{{n}}').render(roots), '5');
  assert.equal(compileStringTemplate('{{o}}').render(roots), '{"a":1}');
  assert.equal(compileStringTemplate('[{{z}}]').render(roots), '[]');
  assert.equal(compileStringTemplate("'{{n}}'").render(roots), '5');
  assert.equal(compileStringTemplate('plain').render(roots), 'plain');
  assert.equal(compileStringTemplate('{{nope}}').render(roots), '{{nope}}');
  assert.deepEqual(compileStringTemplate('{{a}}{{b}}').placeholders, ['a', 'b']);
});

test('unknownPlaceholders reports names that are not event context variables', () => {
  assert.deepEqual(
    unknownPlaceholders(['id', 'DATA.anything', 'Account.Peer.Address', 'timestamp.iso_8601_basic', 'acount.name', 'data', 'foo']),
    ['acount.name', 'foo'],
  );
  assert.deepEqual(unknownPlaceholders(['callback_url', 'output.code'], [...EVENT_CONTEXT_VARIABLES, 'callback_url'], ['data', 'output']), []);
  for (const variable of EVENT_CONTEXT_VARIABLES) assert.deepEqual(unknownPlaceholders([variable]), []);
});
