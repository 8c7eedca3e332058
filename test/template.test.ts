// Go text/template semantics of webhook/template: the API, behaviours newer than the go1.19 used
// for template.go-cases.test.ts, typed Go values (structs, methods, typed maps, ints vs floats),
// and Go's fmt printing.

import assert from 'node:assert/strict';
import {
  def, goMap, goSlice, goStruct, injectionFuncs, parseTemplate, sprintf, Template, TemplateError,
} from '../webhook/template/index.js';

const render = (text: string, data?: unknown, opts = {}): string => parseTemplate('t', text, opts).execute(data);
const renderFuncs = (text: string, data?: unknown): string => parseTemplate('t', text, { funcs: injectionFuncs({ env: {} }) }).execute(data);

function throwsMsg(fn: () => unknown, msg: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TemplateError, String(e));
    if (typeof msg === 'string') assert.equal(e.message, msg);
    else assert.match(e.message, msg);
    return true;
  });
}

describe('template: actions and control flow', () => {
  it('trims whitespace around {{- and -}} but reads {{-3}} as a number', () => {
    assert.equal(render('a \n {{- "b" -}} \n c'), 'abc');
    assert.equal(render('{{-3}}'), '-3');
    assert.equal(render('x {{- /* comment */ -}} y'), 'xy');
    assert.equal(render('x {{/* c */}} y'), 'x  y');
  });

  it('applies a piped value as the last argument (partial application)', () => {
    assert.equal(render('{{ "x" | printf "%s-%s" "a" }}'), 'a-x');
    assert.equal(render('{{ "a" | printf "%s%s" "b" | printf "<%s>" }}'), '<ba>');
  });

  it('ranges over integers (Go 1.22+), with else and one variable only', () => {
    assert.equal(render('{{ range 3 }}{{ . }}{{ end }}'), '012');
    assert.equal(render('{{ range $i := 2 }}[{{ $i }}]{{ end }}'), '[0][1]');
    assert.equal(render('{{ range 0 }}x{{ else }}none{{ end }}'), 'none');
    throwsMsg(() => render('{{ range $i, $e := 3 }}{{ end }}'),
      'template: t:1:19: executing "t" at <3>: can\'t use 3 to iterate over more than one variable');
  });

  it('supports {{else with}} (Go 1.23+) and else-if chains', () => {
    const t = '{{ with .a }}A{{ else with .b }}B{{ . }}{{ else }}C{{ end }}';
    assert.equal(render(t, { b: 'x' }), 'Bx');
    assert.equal(render(t, { a: 1 }), 'A');
    assert.equal(render(t, {}), 'C');
    assert.equal(render('{{ if .a }}1{{ else if .b }}2{{ else if .c }}3{{ else }}4{{ end }}', { c: true }), '3');
  });

  it('break and continue affect only the innermost range', () => {
    const t = '{{ range .o }}{{ range .i }}{{ if eq . 2.0 }}{{ continue }}{{ end }}{{ if eq . 3.0 }}{{ break }}{{ end }}{{ . }}{{ end }};{{ end }}';
    assert.equal(render(t, { o: [{ i: [1, 2, 3, 4] }, { i: [2, 5] }] }), '1;5;');
    throwsMsg(() => render('{{ break }}'), 'template: t:1: {{break}} outside {{range}}');
  });

  it('ranges over maps in sorted key order and takes $i, $v', () => {
    assert.equal(render('{{ range $k, $v := . }}{{ $k }}={{ $v }},{{ end }}', { b: 2, a: 1, B: 3 }), 'B=3,a=1,b=2,');
    assert.equal(render('{{ range $i, $v := . }}{{ $i }}{{ $v }}{{ end }}', ['x', 'y']), '0x1y');
  });

  it('assigns range variables with = (Go 1.22+)', () => {
    assert.equal(render('{{ $i := 0 }}{{ $v := "" }}{{ range $i, $v = .l }}{{ end }}{{ $i }}{{ $v }}', { l: ['a', 'b'] }), '1b');
  });

  it('scopes variables to their control structure', () => {
    const t = '{{ $x := 1 }}{{ range .l }}{{ $x := . }}{{ $y := 2 }}{{ end }}{{ $x }}' +
      '{{ if true }}{{ $x = 3 }}{{ end }}{{ $x }}{{ with $z := 4 }}{{ $z }}{{ end }}';
    assert.equal(render(t, { l: [7] }), '134');
    throwsMsg(() => render('{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}'), 'template: t:1: undefined variable "$y"');
  });

  it('gives $ the data in every scope and a fresh $ in each template call', () => {
    const t = '{{ define "d" }}{{ $ }}{{ end }}{{ range .l }}{{ $.n }}{{ template "d" . }}{{ end }}';
    assert.equal(render(t, { n: 'N', l: ['a', 'b'] }), 'NaNb');
  });
});

describe('template: define, template, block and the Template API', () => {
  it('defines, nests and overrides templates', () => {
    const t = parseTemplate('main', '{{ define "a" }}A[{{ template "b" . }}]{{ end }}{{ define "b" }}B{{ . }}{{ end }}{{ template "a" 1 }}|{{ block "c" 2 }}C{{ . }}{{ end }}');
    assert.equal(t.execute(), 'A[B1]|C2');
    t.define('c', 'override{{ . }}');
    assert.equal(t.execute(), 'A[B1]|override2');
    assert.equal(t.executeTemplate('b', 'x'), 'Bx');
    assert.deepEqual(t.templates(), ['a', 'b', 'c', 'main']);
    assert.equal(t.lookup('zzz'), undefined);
    assert.equal(t.lookup('a')?.execute('q'), 'A[Bq]');
  });

  it('keeps a definition when a later parse only redeclares it empty', () => {
    const t = parseTemplate('main', '{{ define "a" }}A{{ end }}{{ template "a" }}');
    t.new('other').parse('{{ define "a" }}{{ end }}');
    assert.equal(t.execute(), 'A');
  });

  it('reports Go\'s errors for undefined and duplicate templates', () => {
    throwsMsg(() => render('{{ template "nope" }}'), 'template: t:1:12: executing "t" at <{{template "nope"}}>: template "nope" not defined');
    throwsMsg(() => parseTemplate('t', '{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}'),
      'template: t:1: template: multiple definition of template "a"');
    throwsMsg(() => parseTemplate('t', 'x').executeTemplate('y', 1), 'template: no template "y" associated with template "t"');
    throwsMsg(() => Template.create('empty').execute(), 'template: empty: "empty" is an incomplete or empty template');
  });

  it('names the defined template and position in execution errors', () => {
    const t = parseTemplate('sidecar', 'line1\n{{ define "res" }}\n  {{ .a.b }}{{ end }}{{ template "res" . }}');
    assert.throws(() => t.execute({ a: 'str' }), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.message, 'template: sidecar:3:7: executing "res" at <.a.b>: can\'t evaluate field b in type interface {}');
      assert.equal(e.templateName, 'res');
      assert.equal(e.line, 3);
      assert.equal(e.column, 7);
      assert.equal(e.context, '.a.b');
      return true;
    });
  });

  it('reports parse errors with the template name and line', () => {
    throwsMsg(() => parseTemplate('x', 'a\n{{ foo }}'), 'template: x:2: function "foo" not defined');
    throwsMsg(() => parseTemplate('x', '{{ if .a }}'), 'template: x:1: unexpected EOF');
    throwsMsg(() => parseTemplate('x', '{{ .a'), 'template: x:1: unclosed action');
  });
});

describe('template: missing keys and nil', () => {
  it('prints <no value> for a missing key by default and in fmt prints <nil>', () => {
    assert.equal(render('{{ .a }}|{{ .a.b.c }}|{{ print .a }}|{{ printf "%v" .a }}', {}), '<no value>|<no value>|<nil>|<nil>');
    assert.equal(render('{{ .a }}', { a: null }), '<no value>');
    throwsMsg(() => render('{{ .a.b }}', { a: null }), 'template: t:1:5: executing "t" at <.a.b>: nil pointer evaluating interface {}.b');
  });

  it('missingkey=zero gives the map element type\'s zero value', () => {
    assert.equal(render('[{{ .x }}]', goMap({ a: 'b' }), { missingKey: 'zero' }), '[]');
    assert.equal(render('[{{ .x }}]', { a: 'b' }, { missingKey: 'zero' }), '[<no value>]');
    assert.equal(render('{{ index . "x" }}|{{ index .m "x" }}', { m: goMap({}) }), '<no value>|');
  });

  it('missingkey=error fails on a missing key', () => {
    throwsMsg(() => render('{{ .m.x }}', { m: {} }, { missingKey: 'error' }), 'template: t:1:5: executing "t" at <.m.x>: map has no entry for key "x"');
    const t = Template.create('t').option('missingkey=error').parse('{{ .a }}');
    throwsMsg(() => t.execute({}), /map has no entry for key "a"/);
  });
});

describe('template: Go values', () => {
  class Meta {
    constructor(public Name: string, public Labels: Record<string, string>) {}
    Label(k: string): string { return this.Labels[k] ?? 'none'; }
    String(): string { return `Meta(${this.Name})`; }
  }

  it('reads struct fields, calls methods with arguments and prints Stringers', () => {
    const data = { m: new Meta('pod', { app: 'x' }) };
    assert.equal(render('{{ .m.Name }} {{ .m.Label "app" }} {{ .m.Label "zz" }} {{ .m }} {{ printf "%s|%v" .m .m }}', data),
      'pod x none Meta(pod) Meta(pod)|Meta(pod)');
    throwsMsg(() => render('{{ .Nope }}', data.m), 'template: t:1:3: executing "t" at <.Nope>: can\'t evaluate field Nope in type main.Meta');
    throwsMsg(() => render('{{ .m.Nope }}', data), /can't evaluate field Nope in type interface \{\}/);
  });

  it('prints structs like Go, and struct methods on goStruct values', () => {
    const s = goStruct('v1.ContainerPort', { Name: 'http', ContainerPort: 80n });
    assert.equal(render('{{ . }}|{{ printf "%+v" . }}', s), '{http 80}|{Name:http ContainerPort:80}');
    const en = goStruct('v1alpha1.Mode', { String: () => 'REDIRECT' });
    assert.equal(render('{{ . }} {{ .String }} {{ eq .String "REDIRECT" }}', en), 'REDIRECT REDIRECT true');
  });

  it('treats JS numbers as float64 and bigints as int, like Go decoding JSON', () => {
    assert.equal(render('{{ . }}', 1000000), '1e+06');
    assert.equal(render('{{ . }}', 1000000n), '1000000');
    assert.equal(render('{{ .x }} {{ gt .x 1.0 }} {{ gt .n 1 }}', { x: 15020, n: 5n }), '15020 true true');
    throwsMsg(() => render('{{ gt .x 0 }}', { x: 1 }), 'template: t:1:3: executing "t" at <gt .x 0>: error calling gt: incompatible types for comparison');
    throwsMsg(() => renderFuncs('{{ indent .x "a" }}', { x: 2 }), /wrong type for value; expected int; got float64/);
  });

  it('reads integral numbers as ints with intNumbers (Helm-style decoding)', () => {
    const opts = { intNumbers: true };
    assert.equal(render('{{ . }} {{ gt . 0 }} {{ .5 }}', 1000000, opts), '1000000 true 0.5');
    assert.equal(render('{{ .a }} {{ range .a }}{{ . }}{{ end }} {{ range .n }}{{ . }}{{ end }}', { a: [1, 2.5], n: 3 }, opts), '[1 2.5] 12.5 012');
  });

  it('checks map[string]string parameters and accepts string-valued maps', () => {
    assert.equal(renderFuncs('{{ isset .a "k" }}{{ isset .b "k" }}{{ isset .missing "k" }}', { a: { k: 'v' }, b: goMap({ k: 'v' }) }), 'truetruefalse');
    throwsMsg(() => renderFuncs('{{ isset .a "k" }}', { a: { k: 1 } }),
      /wrong type for value; expected map\[string\]string; got map\[string\]interface \{\}/);
    throwsMsg(() => renderFuncs('{{ hasKey .a "k" }}', { a: goMap({ k: 'v' }) }),
      /wrong type for value; expected map\[string\]interface \{\}; got map\[string\]string/);
  });

  it('calls user functions, plain or typed, and wraps their errors', () => {
    const funcs = {
      join2: (a: unknown, b: unknown) => `${String(a)}+${String(b)}`,
      twice: def(['int'], (n: bigint) => n * 2n),
      boom: () => { throw new Error('bad thing'); },
    };
    assert.equal(render('{{ join2 "a" "b" }} {{ twice 21 }} {{ 4 | twice }}', undefined, { funcs }), 'a+b 42 8');
    throwsMsg(() => render('{{ twice "x" }}', undefined, { funcs }), 'template: t:1:9: executing "t" at <"x">: expected integer; found "x"');
    throwsMsg(() => render('{{ twice 1 2 }}', undefined, { funcs }), 'template: t:1:3: executing "t" at <twice>: wrong number of args for twice: want 1 got 2');
    throwsMsg(() => render('{{ boom }}', undefined, { funcs }), 'template: t:1:3: executing "t" at <boom>: error calling boom: bad thing');
  });

  it('and/or short-circuit and return the deciding value', () => {
    const funcs = { fail: () => { throw new Error('evaluated'); } };
    assert.equal(render('{{ or 0 "x" fail }} {{ and 0 fail }} {{ or .a .b }}', { b: [1] }, { funcs }), 'x 0 [1]');
  });

  it('compares with eq against several values and nil', () => {
    assert.equal(render('{{ eq .a "x" "y" }} {{ eq .missing nil }} {{ ne .a "y" }} {{ eq 2 2 }}', { a: 'y' }), 'true true false true');
    throwsMsg(() => render('{{ eq .m .m }}', { m: { a: 'x' } }), /error calling eq: non-comparable type map\[a:x\]: map\[string\]interface \{\}/);
  });

  it('indexes maps and slices, several keys deep', () => {
    assert.equal(render('{{ index . "a" 1 "b" }} {{ index .a 0 }} {{ len .a }} {{ len "héllo" }}', { a: [1, { b: 'deep' }] }), 'deep 1 2 6');
    throwsMsg(() => render('{{ index .a 2 }}', { a: [1] }), /error calling index: index out of range: 2/);
  });
});

describe('template: fmt printing', () => {
  it('prints maps sorted, slices, nested nils and typed slices', () => {
    assert.equal(render('{{ . }}', { b: [1, 'x', null], a: { z: true } }), 'map[a:map[z:true] b:[1 x <nil>]]');
    assert.equal(render('{{ . }}', goSlice(['a', 'b'])), '[a b]');
    assert.equal(render('{{ printf "%T %T %T" . .x 3 }}', { x: goSlice(['a']) }), 'map[string]interface {} []string int');
  });

  it('formats verbs, widths, precision and bad verbs like Go', () => {
    const cases: [string, unknown[], string][] = [
      ['%v %v %v %v', [1.5, 100000000, 1e21, 0.00001], '1.5 1e+08 1e+21 1e-05'],
      ['%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%U', [42n, 42n, 42n, -42n, 42n, 255n, 255n, 8n, 5n, 65n, 0x1f600n], '42|   42|42   |-0042|+42|ff|FF|10|101|A|U+1F600'],
      ['%f|%.2f|%8.3f|%e|%.3e|%g|%.3g|%G', [3.14159, 2.675, -1.5, 123456.789, 0.000123456, 1e-7, 1234.5678, 1e21], '3.141590|2.67|  -1.500|1.234568e+05|1.235e-04|1e-07|1.23e+03|1E+21'],
      ['%s|%q|%x|%10s|%-4s|%.2s', ['hi', 'a"b\n', 'hi', 'r', 'l', 'abc'], 'hi|"a\\"b\\n"|6869|         r|l   |ab'],
      ['%t %v %q', [true, false, 'é\u0001'], 'true false "é\\x01"'],
      ['%d %s', ['x', 1n], '%!d(string=x) %!s(int=1)'],
      ['%d', [], '%!d(MISSING)'],
      ['%d', [1n, 'extra'], '1%!(EXTRA string=extra)'],
      ['%v %d', [null, null], '<nil> %!d(<nil>)'],
      ['%[2]s %[1]s %%', ['a', 'b'], 'b a %'],
      ['%.0f %.0f %.1f', [0.5, 1.5, 0.25], '0 2 0.2'],
    ];
    for (const [f, args, want] of cases) assert.equal(sprintf(f, ...args), want, f);
  });
});
