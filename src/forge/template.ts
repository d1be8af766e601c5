// The chat template written into forged files (tokenizer.chat_template). It is moed's own text,
// producing DeepSeek-R1's prompt shape:
//
//   <bos>{system}<｜User｜>{user}<｜Assistant｜>{answer}<｜end▁of▁sentence｜>...<｜Assistant｜><think>\n
//
// - assistant history loses its reasoning (everything up to the last </think>, and the whitespace
//   around the answer), as R1 expects;
// - tool calls: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```
//   <｜tool▁call▁end｜>...<｜tool▁calls▁end｜>, consecutive calls separated by a newline;
// - tool results: consecutive tool messages share one <｜tool▁outputs▁begin｜>...<｜tool▁outputs▁end｜>;
// - when the request has tools, they are described after the system text (name, description,
//   JSON-schema parameters and the call syntax), so engines need not inject a description of their own;
// - the generation prompt opens the reasoning (<think>\n); when enable_thinking is defined and
//   false it closes an empty block instead (<think>\n\n</think>\n\n), as Ollama's deepseek-r1
//   template does for think:false, so the model answers directly. Separating the reasoning from
//   the answer is moed's job (runner/output.ts with template/thinking.ts), not llama-common's.
//
// It uses only what llama.cpp's own Jinja engine (common/jinja) implements: if/for/set,
// namespace(), string concatenation, `in`, the tests string/mapping/none/defined and the filters
// tojson, last, trim and split, so the engine renders it as well as a TypeScript Jinja would. The text
// contains the User, Assistant and end-of-sentence markers by which llama.cpp recognises the
// DeepSeek family. (No Jinja comments: llama.cpp's lexer does not apply {#- -#} trimming.)
//
// A message's content may be a string, a list of typed parts (the text parts are joined) or absent.

export const DEEPSEEK_R1_TEMPLATE = [
  "{%- set ns = namespace(system='', in_outputs=false, text='') -%}",
  "{%- for message in messages -%}",
  "{%- if message['role'] == 'system' and message['content'] is string -%}",
  "{%- if ns.system -%}{%- set ns.system = ns.system + '\\n\\n' -%}{%- endif -%}",
  "{%- set ns.system = ns.system + message['content'] -%}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if tools is defined and tools -%}",
  "{%- if ns.system -%}{%- set ns.system = ns.system + '\\n\\n' -%}{%- endif -%}",
  "{%- set ns.system = ns.system + '## Tools\\nYou can call these functions:\\n' -%}",
  "{%- for tool in tools -%}",
  "{%- set fn = tool['function'] if tool['function'] is defined else tool -%}",
  "{%- set ns.system = ns.system + '\\n### ' + fn['name'] + '\\n' -%}",
  "{%- if fn['description'] is string -%}{%- set ns.system = ns.system + fn['description'] + '\\n' -%}{%- endif -%}",
  "{%- set ns.system = ns.system + 'Parameters: ' + (fn['parameters'] | tojson) + '\\n' -%}",
  "{%- endfor -%}",
  "{%- set ns.system = ns.system + '\\nTo call functions, answer with:\\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\\n```json\\nARGUMENTS\\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>' -%}",
  "{%- endif -%}",
  "{{- bos_token -}}{{- ns.system -}}",
  "{%- for message in messages -%}",
  "{%- set ns.text = '' -%}",
  "{%- if message['content'] is string -%}",
  "{%- set ns.text = message['content'] -%}",
  "{%- elif message['content'] is defined and message['content'] is not none -%}",
  "{%- for part in message['content'] -%}",
  "{%- if part is mapping and part['type'] == 'text' -%}{%- set ns.text = ns.text + part['text'] -%}{%- endif -%}",
  "{%- endfor -%}",
  "{%- endif -%}",
  "{%- if message['role'] == 'tool' -%}",
  "{%- if ns.in_outputs -%}{{- '\\n' -}}{%- else -%}{{- '<｜tool▁outputs▁begin｜>' -}}{%- endif -%}",
  "{%- set ns.in_outputs = true -%}",
  "{{- '<｜tool▁output▁begin｜>' + ns.text + '<｜tool▁output▁end｜>' -}}",
  "{%- elif message['role'] != 'system' -%}",
  "{%- if ns.in_outputs -%}{{- '<｜tool▁outputs▁end｜>' -}}{%- set ns.in_outputs = false -%}{%- endif -%}",
  "{%- if message['role'] == 'user' -%}",
  "{{- '<｜User｜>' + ns.text -}}",
  "{%- elif message['role'] == 'assistant' -%}",
  "{%- if '</think>' in ns.text -%}{%- set ns.text = (ns.text.split('</think>') | last) | trim -%}{%- endif -%}",
  "{{- '<｜Assistant｜>' + ns.text -}}",
  "{%- if message['tool_calls'] is defined and message['tool_calls'] -%}",
  "{{- '<｜tool▁calls▁begin｜>' -}}",
  "{%- for call in message['tool_calls'] -%}",
  "{%- set fn = call['function'] if call['function'] is defined else call -%}",
  "{%- if not loop.first -%}{{- '\\n' -}}{%- endif -%}",
  "{{- '<｜tool▁call▁begin｜>function<｜tool▁sep｜>' + fn['name'] + '\\n```json\\n' -}}",
  "{%- if fn['arguments'] is string -%}{{- fn['arguments'] -}}{%- else -%}{{- fn['arguments'] | tojson -}}{%- endif -%}",
  "{{- '\\n```<｜tool▁call▁end｜>' -}}",
  "{%- endfor -%}",
  "{{- '<｜tool▁calls▁end｜>' -}}",
  "{%- endif -%}",
  "{{- '<｜end▁of▁sentence｜>' -}}",
  "{%- endif -%}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if ns.in_outputs -%}{{- '<｜tool▁outputs▁end｜>' -}}{%- endif -%}",
  "{%- if add_generation_prompt -%}",
  "{%- if enable_thinking is defined and not enable_thinking -%}",
  "{{- '<｜Assistant｜><think>\\n\\n</think>\\n\\n' -}}",
  "{%- else -%}",
  "{{- '<｜Assistant｜><think>\\n' -}}",
  "{%- endif -%}",
  "{%- endif -%}",
].join('\n');
