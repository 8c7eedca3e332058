// Template cases whose expected output comes from Go itself: each was rendered by Go's
// text/template (go1.19) with Sprig v3's TxtFuncMap plus Istio's injection functions, the data
// decoded from JSON into interface{} (so every number is a float64), and compared here.
// (Behaviours added after go1.19 — range over an int, {{else with}} — are in template.test.ts.)

import assert from 'node:assert/strict';
import { injectionFuncs, parseTemplate, TemplateError } from '../webhook/template/index.js';

interface GoCase {
  name: string; tpl: string; data: unknown; missingKey?: 'zero' | 'error';
  want?: string; parseError?: string; execError?: string;
}

const cases: GoCase[] = [
 {
  "name": "andor",
  "tpl": "{{ and 1 0 \"x\" }}|{{ and 1 2 }}|{{ or 0 \"\" \"y\" }}|{{ or 0 \"\" }}|{{ and }}|{{ not 0 }}|{{ not .x }}|{{ or .missing \"def\" }}|{{ and .a .b }}",
  "data": {
   "a": 1,
   "b": 2
  },
  "execError": "template: t:1:67: executing \"t\" at <and>: wrong number of args for and: want at least 1 got 0"
 },
 {
  "name": "bool",
  "tpl": "{{ true }} {{ false }} {{ if true }}t{{ end }}",
  "data": null,
  "want": "true false t"
 },
 {
  "name": "breakcont",
  "tpl": "{{ range .l }}{{ if eq . 3 }}{{ continue }}{{ end }}{{ if eq . 5 }}{{ break }}{{ end }}{{ . }}{{ end }}",
  "data": {
   "l": [
    1,
    2,
    3,
    4,
    5,
    6
   ]
  },
  "execError": "template: t:1:20: executing \"t\" at <eq . 3>: error calling eq: incompatible types for comparison"
 },
 {
  "name": "chain",
  "tpl": "{{ (index .l 0).name }}|{{ $x := .m }}{{ $x.a.b }}|{{ (.m).a.b }}",
  "data": {
   "l": [
    {
     "name": "n1"
    }
   ],
   "m": {
    "a": {
     "b": "c"
    }
   }
  },
  "want": "n1|c|c"
 },
 {
  "name": "cmp",
  "tpl": "{{ eq 1 1 }}{{ eq \"a\" \"b\" \"a\" }}{{ ne 1 2 }}{{ lt 1 2 }}{{ le 2 2 }}{{ gt \"b\" \"a\" }}{{ ge 1.5 1.5 }}{{ eq .x .x }}{{ eq .missing \"a\" }}{{ eq .s \"s\" }}",
  "data": {
   "x": 1,
   "s": "s"
  },
  "want": "truetruetruetruetruetruetruetruefalsetrue"
 },
 {
  "name": "cmperr",
  "tpl": "{{ eq .x 1 }}",
  "data": {
   "x": 1
  },
  "execError": "template: t:1:3: executing \"t\" at <eq .x 1>: error calling eq: incompatible types for comparison"
 },
 {
  "name": "cmperr2",
  "tpl": "{{ lt \"a\" 1 }}",
  "data": null,
  "execError": "template: t:1:3: executing \"t\" at <lt \"a\" 1>: error calling lt: incompatible types for comparison"
 },
 {
  "name": "cmperr3",
  "tpl": "{{ eq .m .m }}",
  "data": {
   "m": {
    "a": 1
   }
  },
  "execError": "template: t:1:3: executing \"t\" at <eq .m .m>: error calling eq: non-comparable type map[a:%!s(float64=1)]: map[string]interface {}"
 },
 {
  "name": "comment",
  "tpl": "a {{/* c */}} b {{- /* c2 */ -}} c",
  "data": null,
  "want": "a  bc"
 },
 {
  "name": "define",
  "tpl": "{{ define \"x\" }}X{{ . }}X{{ end }}{{ template \"x\" \"arg\" }}{{ template \"x\" }}{{ block \"b\" .v }}B{{ . }}{{ end }}",
  "data": {
   "v": 42
  },
  "want": "XargXX<no value>XB42"
 },
 {
  "name": "dollarinrange",
  "tpl": "{{ range .l }}{{ $.p }}{{ . }}{{ end }}",
  "data": {
   "l": [
    1,
    2
   ],
   "p": "P"
  },
  "want": "P1P2"
 },
 {
  "name": "emptyaction",
  "tpl": "{{ \"\" }}|{{ 0 }}|{{ .e }}",
  "data": {
   "e": ""
  },
  "want": "|0|"
 },
 {
  "name": "esc",
  "tpl": "{{ html \"<a href='x'>&\\\"\" }}|{{ js \"a'b\\\"c<d>\\\\\" }}|{{ urlquery \"a b&c=d/é\" }}|{{ html 1 \"x\" 2 }}",
  "data": null,
  "want": "&lt;a href=&#39;x&#39;&gt;&amp;&#34;|a\\'b\\\"c\\u003Cd\\u003E\\\\|a+b%26c%3Dd%2F%C3%A9|1x2"
 },
 {
  "name": "exerr1",
  "tpl": "{{ template \"nope\" }}",
  "data": null,
  "execError": "template: t:1:12: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined"
 },
 {
  "name": "exerr2",
  "tpl": "{{ .x 1 }}",
  "data": {
   "x": 1
  },
  "execError": "template: t:1:3: executing \"t\" at <.x>: x is not a method but has arguments"
 },
 {
  "name": "exerr3",
  "tpl": "{{ nil }}",
  "data": null,
  "execError": "template: t:1:3: executing \"t\" at <nil>: nil is not a command"
 },
 {
  "name": "exerr4",
  "tpl": "{{ range 5.5 }}{{ end }}",
  "data": null,
  "execError": "template: t:1:9: executing \"t\" at <5.5>: range can't iterate over 5.5"
 },
 {
  "name": "exerr5",
  "tpl": "{{ printf 3 }}",
  "data": null,
  "execError": "template: t:1:10: executing \"t\" at <3>: expected string; found 3"
 },
 {
  "name": "exerr7",
  "tpl": "{{ .x.y }}",
  "data": {
   "x": "str"
  },
  "execError": "template: t:1:5: executing \"t\" at <.x.y>: can't evaluate field y in type interface {}"
 },
 {
  "name": "ifelse",
  "tpl": "{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}{{ if .c }}A{{ else if .b }}B{{ else }}C{{ end }}{{ if .z }}A{{ else if .zz }}B{{ else }}C{{ end }}",
  "data": {
   "a": "",
   "b": [
    1
   ],
   "c": 0
  },
  "want": "BBC"
 },
 {
  "name": "index",
  "tpl": "{{ index .l 1 }} {{ index .m \"a\" }} {{ index .m \"zz\" }} {{ index .nn \"a\" 0 \"b\" }} {{ index \"abc\" 1 }}|{{ index .m \"nul\" }}|",
  "data": {
   "l": [
    "a",
    "b"
   ],
   "m": {
    "a": "x",
    "nul": null
   },
   "nn": {
    "a": [
     {
      "b": "deep"
     }
    ]
   }
  },
  "want": "b x <no value> deep 98|<no value>|"
 },
 {
  "name": "indexerr",
  "tpl": "{{ index .l 5 }}",
  "data": {
   "l": [
    "a"
   ]
  },
  "execError": "template: t:1:3: executing \"t\" at <index .l 5>: error calling index: index out of range: 5"
 },
 {
  "name": "indexerr2",
  "tpl": "{{ index .l \"x\" }}",
  "data": {
   "l": [
    "a"
   ]
  },
  "execError": "template: t:1:3: executing \"t\" at <index .l \"x\">: error calling index: cannot index slice/array with type string"
 },
 {
  "name": "len",
  "tpl": "{{ len \"héllo\" }} {{ len .l }} {{ len .m }}",
  "data": {
   "l": [
    1,
    2,
    3
   ],
   "m": {
    "a": 1
   }
  },
  "want": "6 3 1"
 },
 {
  "name": "lenerr",
  "tpl": "{{ len 3 }}",
  "data": null,
  "execError": "template: t:1:3: executing \"t\" at <len 3>: error calling len: len of type int"
 },
 {
  "name": "missing",
  "tpl": "{{ .a.b.c }}|{{ .x }}|{{ $.y }}|{{ .m.q }}",
  "data": {
   "m": {}
  },
  "want": "<no value>|<no value>|<no value>|<no value>"
 },
 {
  "name": "missingerr",
  "tpl": "{{ .m.q }}",
  "data": {
   "m": {}
  },
  "missingKey": "error",
  "execError": "template: t:1:5: executing \"t\" at <.m.q>: map has no entry for key \"q\""
 },
 {
  "name": "missingzero",
  "tpl": "{{ .a }}|{{ .m.q }}",
  "data": {
   "m": {}
  },
  "missingKey": "zero",
  "want": "<no value>|<no value>"
 },
 {
  "name": "nesteddefine",
  "tpl": "{{ define \"a\" }}A({{ template \"b\" . }}){{ end }}{{ define \"b\" }}B{{ .num }}{{ end }}{{ template \"a\" . }}",
  "data": {
   "num": 7
  },
  "want": "A(B7)"
 },
 {
  "name": "nestedrange",
  "tpl": "{{ range $k, $v := .m }}{{ range $v }}{{ $k }}{{ . }} {{ end }}{{ end }}",
  "data": {
   "m": {
    "x": [
     1,
     2
    ],
    "a": [
     3
    ]
   }
  },
  "want": "a3 x1 x2 "
 },
 {
  "name": "numbers",
  "tpl": "{{ 1 }} {{ 1.0 }} {{ 0x1F }} {{ 1e3 }} {{ 'a' }} {{ -5 }} {{ 0o17 }} {{ 1_000 }} {{ 017 }} {{ 0b101 }} {{ .5 }} {{ 2.50 }}",
  "data": null,
  "want": "1 1 31 1000 97 -5 15 1000 15 5 0.5 2.5"
 },
 {
  "name": "parseerr1",
  "tpl": "{{ foo }}",
  "data": null,
  "parseError": "template: t:1: function \"foo\" not defined"
 },
 {
  "name": "parseerr10",
  "tpl": "{{ \"unterminated }}",
  "data": null,
  "parseError": "template: t:1: unterminated quoted string"
 },
 {
  "name": "parseerr11",
  "tpl": "line1\n{{ if true }}\nline3",
  "data": null,
  "parseError": "template: t:3: unexpected EOF"
 },
 {
  "name": "parseerr2",
  "tpl": "{{ if }}",
  "data": null,
  "parseError": "template: t:1: missing value for if"
 },
 {
  "name": "parseerr3",
  "tpl": "{{ .x",
  "data": null,
  "parseError": "template: t:1: unclosed action"
 },
 {
  "name": "parseerr4",
  "tpl": "{{ end }}",
  "data": null,
  "parseError": "template: t:1: unexpected {{end}}"
 },
 {
  "name": "parseerr5",
  "tpl": "{{ $x }}",
  "data": null,
  "parseError": "template: t:1: undefined variable \"$x\""
 },
 {
  "name": "parseerr6",
  "tpl": "{{ range .x }}{{ else if .y }}{{ end }}",
  "data": null,
  "parseError": "template: t:1: unexpected <if> in input"
 },
 {
  "name": "parseerr7",
  "tpl": "a\n{{ break }}",
  "data": null,
  "parseError": "template: t:2: {{break}} outside {{range}}"
 },
 {
  "name": "parseerr8",
  "tpl": "{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}",
  "data": null,
  "parseError": "template: t:1: template: multiple definition of template \"a\""
 },
 {
  "name": "parseerr9",
  "tpl": "{{ 3 | 4 }}",
  "data": null,
  "parseError": "template: t:1: non executable command in pipeline stage 2"
 },
 {
  "name": "pipe",
  "tpl": "{{ \"x\" | printf \"%s-%s\" \"a\" }}|{{ .a | printf \"%v\" }}|{{ 3 | printf \"%d %s\" \"z\" }}",
  "data": {
   "a": [
    1,
    2
   ]
  },
  "want": "a-x|[1 2]|%!d(string=z) %!s(int=3)"
 },
 {
  "name": "print",
  "tpl": "{{ . }}|{{ .m }}|{{ .l }}|{{ .f }}|{{ .big }}|{{ .neg }}|{{ .small }}|{{ .b }}|{{ .nn }}|{{ .s }}",
  "data": {
   "m": {
    "b": [
     1,
     {
      "c": "d"
     }
    ],
    "a": null
   },
   "l": [
    1,
    "two",
    null,
    {
     "k": "v"
    }
   ],
   "f": 1.5,
   "big": 123456789,
   "neg": -1000000,
   "small": 1e-05,
   "b": true,
   "nn": null,
   "s": "str"
  },
  "want": "map[b:true big:1.23456789e+08 f:1.5 l:[1 two <nil> map[k:v]] m:map[a:<nil> b:[1 map[c:d]]] neg:-1e+06 nn:<nil> s:str small:1e-05]|map[a:<nil> b:[1 map[c:d]]]|[1 two <nil> map[k:v]]|1.5|1.23456789e+08|-1e+06|1e-05|true|<no value>|str"
 },
 {
  "name": "print2",
  "tpl": "{{ print 1 2 \"a\" \"b\" 3 .x nil }}|{{ println 1 \"a\" }}|{{ print }}",
  "data": {
   "z": 1
  },
  "want": "1 2ab3 <nil> <nil>|1 a\n|"
 },
 {
  "name": "printf1",
  "tpl": "{{ printf \"%s-%d-%v-%q-%t-%f-%x-%X-%o\" \"a\" 3 .f \"q\\\"\" true 1.5 255 \"hi\" 8 }}",
  "data": {
   "f": 2.25
  },
  "want": "a-3-2.25-\"q\\\"\"-true-1.500000-ff-6869-10"
 },
 {
  "name": "printf2",
  "tpl": "{{ printf \"%5s|%-5s|%05d|%.2f|%8.3f|%+d|%e|%g|%G|%.3g\" \"a\" \"b\" 42 3.14159 2.5 5 1234.5678 0.000001234 1e21 123456.0 }}",
  "data": null,
  "want": "    a|b    |00042|3.14|   2.500|+5|1.234568e+03|1.234e-06|1E+21|1.23e+05"
 },
 {
  "name": "printf3",
  "tpl": "{{ printf \"%d %s\" \"str\" 5 }}|{{ printf \"%d\" }}|{{ printf \"%d\" 1 2 }}|{{ printf \"%v %v\" .m .l }}|{{ printf \"%q\" .l }}|{{ printf \"%T %T %T %T %T\" 1 1.0 \"s\" .m .l }}",
  "data": {
   "m": {
    "a": 1
   },
   "l": [
    "x",
    2
   ]
  },
  "want": "%!d(string=str) %!s(int=5)|%!d(MISSING)|1%!(EXTRA int=2)|map[a:1] [x 2]|[\"x\" %!q(float64=2)]|int float64 string map[string]interface {} []interface {}"
 },
 {
  "name": "printf4",
  "tpl": "{{ printf \"%c %U %x %#x %#o %b %08.3f %-8d| %+.2e %% %5t\" 65 65 -255 255 8 5 -3.14159 12 12345.678 false }}",
  "data": null,
  "want": "A U+0041 -ff 0xff 010 101 -003.142 12      | +1.23e+04 % false"
 },
 {
  "name": "printf5",
  "tpl": "{{ printf \"%v %d %s\" nil nil nil }}|{{ printf \"%[2]s %[1]s\" \"a\" \"b\" }}|{{ printf \"%*d\" 5 42 }}|{{ printf \"%.*f\" 2 3.14159 }}",
  "data": null,
  "want": "<nil> %!d(<nil>) %!s(<nil>)|b a|   42|3.14"
 },
 {
  "name": "rangeassign",
  "tpl": "{{ $i := 0 }}{{ $e := \"\" }}{{ range $i, $e = .l }}{{ end }}{{ $i }}{{ $e }}",
  "data": {
   "l": [
    "x",
    "yy"
   ]
  },
  "want": "1yy"
 },
 {
  "name": "rangeelse",
  "tpl": "{{ range .none }}x{{ else }}empty{{ end }}|{{ range .e }}x{{ else }}empty2{{ end }}|{{ range .em }}x{{else}}e3{{end}}",
  "data": {
   "e": [],
   "em": {}
  },
  "want": "empty|empty2|e3"
 },
 {
  "name": "rangemap",
  "tpl": "{{ range $k, $v := .m }}{{ $k }}:{{ $v }};{{ end }}{{ range .m }}{{.}}{{ end }}",
  "data": {
   "m": {
    "b": 2,
    "a": 1,
    "C": 3,
    "aa": [
     1,
     2
    ],
    "z": {
     "x": 1
    }
   }
  },
  "want": "C:3;a:1;aa:[1 2];b:2;z:map[x:1];31[1 2]2map[x:1]"
 },
 {
  "name": "rangeslice",
  "tpl": "{{ range $i, $v := .l }}[{{ $i }}={{ $v }}]{{ end }}{{ range .l }}<{{ . }}>{{ end }}",
  "data": {
   "l": [
    "a",
    1,
    true,
    null,
    2.5
   ]
  },
  "want": "[0=a][1=1][2=true][3=<no value>][4=2.5]<a><1><true><<no value>><2.5>"
 },
 {
  "name": "rangevars",
  "tpl": "{{ range $i, $e := .l }}{{ $i }}{{ $e }}{{ end }}{{ range $e := .l }}{{ $e }}{{ end }}",
  "data": {
   "l": [
    "x",
    "yy"
   ]
  },
  "want": "0x1yyxyy"
 },
 {
  "name": "root",
  "tpl": "{{ with .a }}{{ $.b }}{{ end }}",
  "data": {
   "a": "x",
   "b": "rootb"
  },
  "want": "rootb"
 },
 {
  "name": "scope",
  "tpl": "{{ $x := \"outer\" }}{{ if true }}{{ $x := \"inner\" }}{{ $x }}{{ end }} {{ $x }}{{ if true }}{{ $x = \"set\" }}{{ end }} {{ $x }}",
  "data": null,
  "want": "inner outer set"
 },
 {
  "name": "slice",
  "tpl": "{{ slice .l 1 }} {{ slice .l 1 2 }} {{ slice \"abcdef\" 2 4 }} {{ slice .l }}",
  "data": {
   "l": [
    "a",
    "b",
    "c"
   ]
  },
  "execError": "template: t:1:39: executing \"t\" at <slice \"abcdef\" 2 4>: error calling slice: list should be type of slice or array but string"
 },
 {
  "name": "strings",
  "tpl": "{{ \"a\\tb\\n\\u00e9\\x41\" }}|{{ `raw\\n` }}",
  "data": null,
  "want": "a\tb\néA|raw\\n"
 },
 {
  "name": "text",
  "tpl": "hello world",
  "data": null,
  "want": "hello world"
 },
 {
  "name": "trim",
  "tpl": "a  {{- 1 -}}  b {{- \"x\" }} c {{ \"y\" -}}\n d",
  "data": null,
  "want": "a1bx c yd"
 },
 {
  "name": "vars",
  "tpl": "{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}{{ with $y := \"w\" }}{{ $y }}{{ end }}",
  "data": null,
  "want": "12w"
 },
 {
  "name": "with",
  "tpl": "{{ with .a }}{{ . }}{{ else }}no{{ end }}{{ with .b }}{{ . }}{{ else }}no{{ end }}{{ with .c }}{{ .d }}{{ end }}",
  "data": {
   "a": 0,
   "b": "hi",
   "c": {
    "d": "dd"
   }
  },
  "want": "nohidd"
 },
 {
  "name": "i_toyaml_indent",
  "tpl": "  resources:\n    {{ toYaml .r | indent 4 }}\n  lifecycle:\n{{- toYaml .r | nindent 4 }}",
  "data": {
   "r": {
    "requests": {
     "cpu": "100m",
     "memory": "128Mi"
    },
    "limits": {
     "cpu": "2"
    }
   }
  },
  "want": "  resources:\n    limits:\n      cpu: \"2\"\n    requests:\n      cpu: 100m\n      memory: 128Mi\n    \n  lifecycle:\n    limits:\n      cpu: \"2\"\n    requests:\n      cpu: 100m\n      memory: 128Mi\n    "
 },
 {
  "name": "s_abbrev",
  "tpl": "{{ abbrev 5 \"hello world\" }}|{{ abbrevboth 5 10 \"1234 5678 9123\" }}|{{ wrap 5 \"hello world foo\" }}|{{ wrapWith 5 \"\\t\" \"hello world\" }}|{{ snakecase \"FirstName\" }}|{{ camelcase \"http_server\" }}|{{ kebabcase \"FirstName\" }}",
  "data": null,
  "want": "he...|...5678...|hello\nworld\nfoo|hello\tworld|first_name|HttpServer|first-name"
 },
 {
  "name": "s_contains",
  "tpl": "{{ contains \"ell\" \"hello\" }}{{ hasPrefix \"he\" \"hello\" }}{{ hasSuffix \"lo\" \"hello\" }}{{ contains \"/\" \"a/b\" }}{{ contains \"x\" \"abc\" }}",
  "data": null,
  "want": "truetruetruetruefalse"
 },
 {
  "name": "s_default",
  "tpl": "{{ .missing | default \"d\" }}|{{ \"\" | default \"d\" }}|{{ \"x\" | default \"d\" }}|{{ 0 | default 5 }}|{{ .l | default \"emptylist\" }}|{{ .f | default 3 }}|{{ false | default \"f\" }}|{{ default \"a\" }}",
  "data": {
   "l": [],
   "f": 0
  },
  "want": "d|d|x|5|emptylist|3|f|a"
 },
 {
  "name": "s_dicts",
  "tpl": "{{ $d := dict \"a\" 1 \"b\" \"two\" \"c\" }}{{ $d }}|{{ get $d \"a\" }}|{{ get $d \"zz\" }}|{{ hasKey $d \"b\" }}|{{ keys $d | sortAlpha }}|{{ pick $d \"a\" }}|{{ omit $d \"a\" }}|{{ $_ := set $d \"x\" 5 }}{{ $d.x }}|{{ unset $d \"x\" }}|{{ pluck \"a\" $d (dict \"a\" 9) }}|{{ dig \"p\" \"q\" \"def\" .m }}|{{ dig \"p\" \"z\" \"def\" .m }}",
  "data": {
   "m": {
    "p": {
     "q": "found"
    }
   }
  },
  "execError": "template: t:1:152: executing \"t\" at <$d>: wrong type for value; expected map[string]string; got map[string]interface {}"
 },
 {
  "name": "s_empty",
  "tpl": "{{ empty \"\" }}{{ empty .m }}{{ empty .z }}{{ empty 0 }}{{ empty 1 }}{{ empty .l }}{{ empty .missing }}",
  "data": {
   "m": {},
   "z": 0,
   "l": [
    1
   ]
  },
  "want": "truetruetruetruefalsefalsetrue"
 },
 {
  "name": "s_encoding",
  "tpl": "{{ b64enc \"hello\" }}|{{ b64dec \"aGVsbG8=\" }}|{{ b32enc \"hello\" }}|{{ b32dec \"NBSWY3DP\" }}|{{ sha256sum \"x\" }}|{{ sha1sum \"x\" }}|{{ adler32sum \"hello\" }}|{{ b64dec \"!!\" }}",
  "data": null,
  "want": "aGVsbG8=|hello|NBSWY3DP|hello|2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881|11f6ad8ec52a2984abaafd7c3b516503785c2072|103547413|illegal base64 data at input byte 0"
 },
 {
  "name": "s_err1",
  "tpl": "{{ append 3 4 }}",
  "data": null,
  "execError": "template: t:1:3: executing \"t\" at <append 3 4>: error calling append: Cannot push on type int"
 },
 {
  "name": "s_err2",
  "tpl": "{{ first .missing }}",
  "data": null,
  "execError": "template: t:1:3: executing \"t\" at <first .missing>: error calling first: runtime error: invalid memory address or nil pointer dereference"
 },
 {
  "name": "s_err3",
  "tpl": "{{ indent .f \"x\" }}",
  "data": {
   "f": 2
  },
  "execError": "template: t:1:10: executing \"t\" at <.f>: wrong type for value; expected int; got float64"
 },
 {
  "name": "s_err4",
  "tpl": "{{ div 1 0 }}",
  "data": null,
  "execError": "template: t:1:3: executing \"t\" at <div 1 0>: error calling div: runtime error: integer divide by zero"
 },
 {
  "name": "s_err5",
  "tpl": "{{ hasKey .a \"x\" }}",
  "data": {
   "a": [
    1
   ]
  },
  "execError": "template: t:1:10: executing \"t\" at <.a>: wrong type for value; expected map[string]interface {}; got []interface {}"
 },
 {
  "name": "s_indent",
  "tpl": "{{ indent 2 \"a\\nb\" }}|{{ nindent 4 \"x\\ny\" }}|{{ \"a\\nb\" | indent 3 }}",
  "data": null,
  "want": "a\n  b|\n    x\n    y|a\n   b"
 },
 {
  "name": "s_json",
  "tpl": "{{ toJson .m }}|{{ toPrettyJson .m }}|{{ toRawJson .h }}|{{ toJson .h }}|{{ fromJson \"{\\\"a\\\":[1,2.5,\\\"x\\\"]}\" }}|{{ (fromJson \"{\\\"a\\\":1}\").a }}|{{ toJson .f }}|{{ toJson 1000000 }}|{{ toJson 1e21 }}|{{ toJson 0.0000001 }}",
  "data": {
   "m": {
    "9": "yy",
    "10": "x",
    "b": [
     1,
     2.5,
     null
    ],
    "a": {
     "c": true
    }
   },
   "h": "<a&b>",
   "f": 1e-07
  },
  "want": "{\"10\":\"x\",\"9\":\"yy\",\"a\":{\"c\":true},\"b\":[1,2.5,null]}|{\n  \"10\": \"x\",\n  \"9\": \"yy\",\n  \"a\": {\n    \"c\": true\n  },\n  \"b\": [\n    1,\n    2.5,\n    null\n  ]\n}|\"<a&b>\"|\"\\u003ca\\u0026b\\u003e\"|map[a:[1 2.5 x]]|1|1e-7|1000000|1e+21|1e-7"
 },
 {
  "name": "s_lists",
  "tpl": "{{ list 1 \"a\" }}|{{ first .l }}|{{ last .l }}|{{ rest .l }}|{{ initial .l }}|{{ reverse .l }}|{{ append .l 4 }}|{{ prepend .l 0 }}|{{ concat .l (list 9) }}|{{ uniq (list 1 1 2) }}|{{ without .l 2.0 }}|{{ has 2.0 .l }}|{{ compact (list 0 1 \"\" \"a\" nil) }}|{{ first (list) }}|{{ rest (list) }}|{{ slice .l 1 }}|{{ slice .l 1 2 }}",
  "data": {
   "l": [
    1,
    2,
    3
   ]
  },
  "want": "[1 a]|1|3|[2 3]|[1 2]|[3 2 1]|[1 2 3 4]|[0 1 2 3]|[1 2 3 9]|[1 2]|[1 3]|true|[1 a]|<no value>|[]|[2 3]|[2]"
 },
 {
  "name": "s_merge",
  "tpl": "{{ $a := dict \"a\" 1 \"n\" (dict \"x\" 1) }}{{ $b := dict \"a\" 2 \"b\" 3 \"n\" (dict \"x\" 2 \"y\" 3) }}{{ merge $a $b }}|{{ $c := dict \"a\" 1 \"n\" (dict \"x\" 1) }}{{ mergeOverwrite $c $b }}",
  "data": null,
  "want": "map[a:1 b:3 n:map[x:1 y:3]]|map[a:2 b:3 n:map[x:2 y:3]]"
 },
 {
  "name": "s_numbers",
  "tpl": "{{ add 1 2 3 }}|{{ add1 5 }}|{{ sub 5 2 }}|{{ mul 2 3 4 }}|{{ div 7 2 }}|{{ mod 7 3 }}|{{ max 1 5 3 }}|{{ min 4 2 8 }}|{{ int \"42\" }}|{{ int 3.9 }}|{{ int64 \"0x10\" }}|{{ float64 \"1.5\" }}|{{ atoi \"12\" }}|{{ floor 1.7 }}|{{ ceil 1.2 }}|{{ round 1.2345 2 }}|{{ addf 0.1 0.2 }}|{{ mulf 1.1 3 }}|{{ divf 10 3 }}|{{ subf 1 0.9 }}|{{ until 3 }}|{{ untilStep 0 10 3 }}|{{ seq 3 }}|{{ seq 2 5 }}|{{ seq 10 -3 1 }}|{{ add .f 1 }}|{{ int .f }}|{{ maxf 1.5 2 }}",
  "data": {
   "f": 2.7
  },
  "want": "6|6|3|24|3|1|5|2|42|3|16|1.5|12|1|2|1.23|0.3|3.3|3.3333333333333335|0.1|[0 1 2]|[0 3 6 9]|1 2 3|2 3 4 5|10 7 4 1|3|2|2"
 },
 {
  "name": "s_paths",
  "tpl": "{{ base \"/a/b/c.txt\" }}|{{ dir \"/a/b/c.txt\" }}|{{ ext \"c.tar.gz\" }}|{{ clean \"/a/../b/./c//\" }}|{{ isAbs \"/x\" }}|{{ base \"\" }}|{{ dir \"x\" }}",
  "data": null,
  "want": "c.txt|/a/b|.gz|/b/c|true|.|."
 },
 {
  "name": "s_quote",
  "tpl": "{{ quote \"a\" 1 .x \"b\\\"c\" }}|{{ squote \"a\" 2 }}|{{ cat \"a\" 1 .x \"b\" }}|{{ .missing | quote }}|{{ 1.5 | quote }}|{{ quote .m }}",
  "data": {
   "x": null,
   "m": {
    "a": 1
   }
  },
  "want": "\"a\" \"1\" \"b\\\"c\"|'a' '2'|a 1 b||\"1.5\"|\"map[a:1]\""
 },
 {
  "name": "s_regex",
  "tpl": "{{ regexMatch \"^a.c$\" \"abc\" }}|{{ regexFind \"[0-9]+\" \"ab123cd45\" }}|{{ regexFindAll \"[0-9]+\" \"a1b22c333\" -1 }}|{{ regexFindAll \"[0-9]+\" \"a1b22c333\" 2 }}|{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}|{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"$1W\" }}|{{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}\" }}|{{ regexSplit \"z+\" \"pizza\" -1 }}|{{ regexSplit \"z+\" \"pizza\" 1 }}|{{ regexQuoteMeta \"1.2+[x]\" }}",
  "data": null,
  "want": "true|123|[1 22 333]|[1 22]|-W-xxW-|---|-${1}-${1}-|[pi a]|[pizza]|1\\.2\\+\\[x\\]"
 },
 {
  "name": "s_replace",
  "tpl": "{{ replace \"a\" \"b\" \"banana\" }}|{{ \"a-b-c\" | replace \"-\" \"_\" }}|{{ plural \"one\" \"many\" 2 }}|{{ plural \"one\" \"many\" 1 }}",
  "data": null,
  "want": "bbnbnb|a_b_c|many|one"
 },
 {
  "name": "s_split",
  "tpl": "{{ split \",\" \"a,b,c\" }}|{{ splitList \",\" \"a,b,c\" }}|{{ splitn \",\" 2 \"a,b,c\" }}|{{ (split \",\" \"a,b\")._1 }}|{{ join \"-\" .l }}|{{ join \",\" (list 1 \"a\" nil 2.5) }}|{{ toStrings (list 1 2) }}|{{ sortAlpha (list \"b\" \"a\" \"C\") }}",
  "data": {
   "l": [
    "x",
    1,
    true
   ]
  },
  "want": "map[_0:a _1:b _2:c]|[a b c]|map[_0:a _1:b,c]|b|x-1-true|1,a,2.5|[1 2]|[C a b]"
 },
 {
  "name": "s_strings",
  "tpl": "{{ trim \"  a b  \" }}|{{ upper \"abc\" }}|{{ lower \"ABC\" }}|{{ title \"hello world-foo_bar\" }}|{{ untitle \"Hello\" }}|{{ repeat 3 \"ab\" }}|{{ trimAll \"-_.\" \"-_a.b-\" }}|{{ trimPrefix \"a\" \"aab\" }}|{{ trimSuffix \"b\" \"abb\" }}|{{ nospace \" a b\\tc \" }}|{{ initials \"hello big world\" }}|{{ swapcase \"Hello World\" }}",
  "data": null,
  "want": "a b|ABC|abc|Hello World-Foo_bar|hello|ababab|a.b|ab|ab|abc|hbw|hELLO wORLD"
 },
 {
  "name": "s_ternary",
  "tpl": "{{ ternary \"a\" \"b\" true }}{{ ternary \"a\" \"b\" false }}{{ true | ternary \"y\" \"z\" }}|{{ coalesce .missing \"\" \"c\" }}|{{ all 1 \"\" }}|{{ any 0 \"x\" }}",
  "data": null,
  "want": "aby|c|false|true"
 },
 {
  "name": "s_trunc",
  "tpl": "{{ trunc 3 \"abcdef\" }}|{{ trunc -2 \"abcdef\" }}|{{ trunc 10 \"ab\" }}|{{ \"abcdef\" | trunc 63 | trimAll \"-_.\" }}|{{ substr 1 3 \"abcdef\" }}|{{ substr -1 2 \"abc\" }}|{{ substr 1 -1 \"abc\" }}",
  "data": null,
  "want": "abc|ef|ab|abcdef|bc|ab|bc"
 },
 {
  "name": "s_types",
  "tpl": "{{ typeOf 1 }} {{ typeOf 1.5 }} {{ typeOf \"s\" }} {{ typeOf .m }} {{ typeOf .l }} {{ kindOf .m }} {{ kindOf .l }} {{ kindIs \"string\" \"x\" }} {{ typeOf nil }} {{ kindOf nil }} {{ typeOf (list) }} {{ typeOf (keys .m) }} {{ typeIs \"int\" 3 }} {{ deepEqual .l (list 1.0) }}",
  "data": {
   "m": {
    "a": 1
   },
   "l": [
    1
   ]
  },
  "want": "int float64 string map[string]interface {} []interface {} map slice true <nil> invalid []interface {} []string true true"
 },
 {
  "name": "s_yaml",
  "tpl": "{{ toYaml .m }}",
  "data": {
   "m": {
    "zeta": 1,
    "alpha": [
     1,
     "two",
     {
      "x": "yy"
     }
    ],
    "b10": "a",
    "b9": "b",
    "_u": "c",
    "Upper": "d",
    "1a": "e",
    "nested": {
     "k": "true",
     "j": "1.5",
     "e": "",
     "m": "multi\nline\n",
     "sp": " lead",
     "colon": "a: b",
     "hash": "#x",
     "star": "*x",
     "dash": "- x",
     "num": "0x1F",
     "oct": "017",
     "tilde": "~",
     "nul": "null",
     "yes": "yes",
     "off": "off",
     "date": "2001-01-01",
     "sexa": "1:20",
     "exp": "1e3",
     "dot": ".5",
     "inf": ".inf"
    },
    "empty": {},
    "emptyl": [],
    "nil": null,
    "f": 1.5,
    "big": 12345678901
   }
  },
  "want": "_u: c\n1a: e\nUpper: d\nalpha:\n- 1\n- two\n- x: yy\nb9: b\nb10: a\nbig: 12345678901\nempty: {}\nemptyl: []\nf: 1.5\nnested:\n  colon: 'a: b'\n  dash: '- x'\n  date: \"2001-01-01\"\n  dot: \".5\"\n  e: \"\"\n  exp: \"1e3\"\n  hash: '#x'\n  inf: \".inf\"\n  j: \"1.5\"\n  k: \"true\"\n  m: |\n    multi\n    line\n  nul: \"null\"\n  num: \"0x1F\"\n  oct: \"017\"\n  \"off\": \"off\"\n  sexa: \"1:20\"\n  sp: ' lead'\n  star: '*x'\n  tilde: \"~\"\n  \"yes\": \"yes\"\nnil: null\nzeta: 1\n"
 }
];

describe('template: outputs identical to Go text/template + Sprig', () => {
  const funcs = injectionFuncs({ env: {} });
  for (const c of cases) {
    it(c.name, () => {
      const render = (): string => parseTemplate('t', c.tpl, { funcs, missingKey: c.missingKey }).execute(c.data);
      if (c.parseError !== undefined || c.execError !== undefined) {
        assert.throws(render, (e: unknown) => {
          assert.ok(e instanceof TemplateError);
          assert.equal(e.message, c.parseError ?? c.execError);
          assert.equal(e.phase, c.parseError !== undefined ? 'parse' : 'exec');
          return true;
        });
      } else {
        assert.equal(render(), c.want);
      }
    });
  }
});
