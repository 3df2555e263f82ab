// The trusted harness, evaluated once per QuickJS runtime inside a private context that guest code never sees.
//
// Guest programs run in other contexts (other realms) of the same runtime: a fresh one per job, or the hardened
// shared one. The harness calls the guest's `f` through a thunk and inspects the returned value across realms with
// its own intrinsics, which the guest cannot reach or patch. It reads values only through
// Object.getOwnPropertyDescriptor and internal-slot brand checks, so no guest code runs while a value is serialised:
// no getters, no toJSON, no iterator or Symbol.* hooks, and Proxy does not exist in guest contexts. Its completion
// value is a factory: (maxChars, maxDepth) => { trustGetters, snapshot, prepare, run, describe }.
//
// Job results are strings: 'o' + canonical text; 'n' + text1 + SEP + text2 (the two calls printed differently; the
// host decides equality, since -0 and 0 print differently but are equal); 'e' + kind + SEP + message. SEP is
// U+0001, which canonical text never contains raw (JSON.stringify escapes control characters); NUL cannot be used
// because strings leave QuickJS as C strings. `run` prefixes the result with the hardened-context reset problem
// ('' when none) and U+0002.
(function () {
  'use strict';
  const gopd = Object.getOwnPropertyDescriptor;
  const getProto = Object.getPrototypeOf;
  const ownKeys = Reflect.ownKeys;
  const apply = Reflect.apply;
  const isArray = Array.isArray;
  const quote = JSON.stringify;
  const toStr = String;
  const mapSize = gopd(Map.prototype, 'size').get;
  const setSize = gopd(Set.prototype, 'size').get;
  const mapEntries = Map.prototype.entries;
  const setValues = Set.prototype.values;
  const mapIterNext = getProto(new Map().entries()).next;
  const setIterNext = getProto(new Set().values()).next;
  const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  const isExtensible = Object.isExtensible;
  const deleteProperty = Reflect.deleteProperty;
  const MAX_MESSAGE = 300;
  /** Override getters installed by harden.guest.js: pure functions returning a frozen built-in's original value. */
  const trustedGetters = new WeakSet();
  const SEP = '\u0001';

  class Fail {
    constructor(kind, message) {
      this.kind = kind;
      this.message = message;
    }
  }

  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const cmpPair = (a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]);

  function clip(s) {
    return s.length > MAX_MESSAGE ? s.slice(0, MAX_MESSAGE) + '…' : s;
  }

  /** A data property's value (own or inherited, up to 8 prototypes), or undefined; never runs a guest getter. */
  function dataOf(obj, key, own) {
    let o = obj;
    for (let i = 0; i < 8 && o !== null && (typeof o === 'object' || typeof o === 'function'); i++) {
      const d = gopd(o, key);
      if (d !== undefined) {
        if ('value' in d) return d.value;
        return trustedGetters.has(d.get) ? apply(d.get, o, []) : undefined;
      }
      if (own) return undefined;
      o = getProto(o);
    }
    return undefined;
  }

  function isBrand(getter, v) {
    try {
      apply(getter, v, []);
      return true;
    } catch (e) {
      return false;
    }
  }

  function describeObject(v) {
    const ctor = dataOf(v, 'constructor', false);
    const name = typeof ctor === 'function' ? dataOf(ctor, 'name', true) : undefined;
    const what =
      typeof name === 'string' && name !== '' ? 'an instance of ' + name : 'an object with a custom prototype';
    return what + ' is not a value (values are primitives, arrays, plain objects, Map and Set)';
  }

  function numberText(n) {
    if (n !== n) return 'NaN';
    if (n === Infinity) return 'Infinity';
    if (n === -Infinity) return '-Infinity';
    if (n === 0 && 1 / n < 0) return '-0';
    return toStr(n);
  }

  function makeSerializer(proto, maxChars, maxDepth) {
    let left = maxChars;
    const ancestors = new Set();

    function spend(n) {
      left -= n;
      if (left < 0)
        throw new Fail('output_too_large', 'the output is longer than ' + maxChars + ' characters of canonical text');
    }

    function leaf(text) {
      spend(text.length);
      return text;
    }

    function ser(v, depth) {
      switch (typeof v) {
        case 'undefined':
          return leaf('undefined');
        case 'boolean':
          return leaf(v ? 'true' : 'false');
        case 'number':
          return leaf(numberText(v));
        case 'bigint':
          return leaf(toStr(v) + 'n');
        case 'string':
          spend(v.length + 2); // a string's text is at least this long: refuse huge strings before quoting them
          left += v.length + 2;
          return leaf(quote(v));
        case 'symbol':
          throw new Fail('unserializable', 'a symbol is not a value');
        case 'function':
          throw new Fail('unserializable', 'a function is not a value');
      }
      if (v === null) return leaf('null');
      if (depth >= maxDepth)
        throw new Fail('unserializable', 'the value is nested deeper than ' + maxDepth + ' levels');
      if (ancestors.has(v)) throw new Fail('unserializable', 'the value contains itself (a cycle)');
      ancestors.add(v);
      let text;
      if (isArray(v)) text = serArray(v, depth);
      else {
        const p = getProto(v);
        if (p === proto || p === null) text = serObject(v, depth);
        else if (isBrand(mapSize, v)) text = serMap(v, depth);
        else if (isBrand(setSize, v)) text = serSet(v, depth);
        else throw new Fail('unserializable', describeObject(v));
      }
      ancestors.delete(v);
      return text;
    }

    function serArray(a, depth) {
      const len = gopd(a, 'length').value;
      spend(2);
      if (len > left)
        throw new Fail(
          'output_too_large',
          'an array of length ' + len + ' does not fit in ' + maxChars + ' characters',
        );
      const parts = [];
      let trailingHole = false;
      for (let i = 0; i < len; i++) {
        if (i > 0) spend(2);
        const d = gopd(a, i);
        if (d === undefined) {
          parts.push('');
          trailingHole = true;
          continue;
        }
        trailingHole = false;
        if (!('value' in d)) throw new Fail('unserializable', 'array element ' + i + ' is a getter/setter (not run)');
        parts.push(ser(d.value, depth + 1));
      }
      if (trailingHole) spend(1);
      return '[' + parts.join(', ') + (trailingHole ? ',' : '') + ']';
    }

    function serObject(o, depth) {
      spend(2);
      const keys = ownKeys(o);
      const entries = [];
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        const d = gopd(o, k);
        if (d === undefined || !d.enumerable) continue;
        if (typeof k === 'symbol') throw new Fail('unserializable', 'a symbol-keyed property is not part of a value');
        if (!('value' in d)) throw new Fail('unserializable', 'property ' + quote(k) + ' is a getter/setter (not run)');
        const kt = k === '__proto__' ? '["__proto__"]' : IDENT.test(k) ? k : quote(k);
        spend(kt.length + (entries.length > 0 ? 4 : 2));
        entries.push([k, kt + ': ' + ser(d.value, depth + 1)]);
      }
      entries.sort(cmpPair);
      let out = '';
      for (let i = 0; i < entries.length; i++) out += (i > 0 ? ', ' : '') + entries[i][1];
      return '{' + out + '}';
    }

    function serMap(m, depth) {
      spend(9);
      if (apply(mapSize, m, []) === 0) return 'new Map()';
      spend(4);
      const it = apply(mapEntries, m, []);
      const entries = [];
      for (;;) {
        const step = apply(mapIterNext, it, []);
        if (step.done) break;
        spend(entries.length > 0 ? 6 : 4);
        entries.push([ser(step.value[0], depth + 1), ser(step.value[1], depth + 1)]);
      }
      entries.sort(cmpPair);
      let out = '';
      for (let i = 0; i < entries.length; i++)
        out += (i > 0 ? ', [' : '[') + entries[i][0] + ', ' + entries[i][1] + ']';
      return 'new Map([' + out + '])';
    }

    function serSet(s, depth) {
      spend(9);
      if (apply(setSize, s, []) === 0) return 'new Set()';
      spend(4);
      const it = apply(setValues, s, []);
      const items = [];
      for (;;) {
        const step = apply(setIterNext, it, []);
        if (step.done) break;
        if (items.length > 0) spend(2);
        items.push(ser(step.value, depth + 1));
      }
      items.sort(cmp);
      return 'new Set([' + items.join(', ') + '])';
    }

    return (v) => ser(v, 0);
  }

  /** What a thrown value means: [kind, message]. */
  function errorInfo(e) {
    if (e === null) return ['memory', 'out of memory (QuickJS threw null: it could not even allocate the error)'];
    if (typeof e === 'object' || typeof e === 'function') {
      const name = dataOf(e, 'name', false);
      const message = dataOf(e, 'message', true);
      const n = typeof name === 'string' ? name : 'Error';
      const m = typeof message === 'string' ? message : '';
      if (
        (n === 'InternalError' || n === 'RangeError') &&
        (m === 'stack overflow' || m === 'Maximum call stack size exceeded')
      )
        return ['stack', 'stack overflow (the stack limit was hit)'];
      if (n === 'InternalError' && m === 'out of memory') return ['memory', 'out of memory (the memory limit was hit)'];
      if (n === 'InternalError' && m === 'string too long')
        return ['memory', 'string too long (QuickJS strings hold at most 2^30 - 1 characters)'];
      return ['runtime', clip(m === '' ? n : n + ': ' + m)];
    }
    let shown;
    try {
      shown = makeSerializer(null, MAX_MESSAGE, 2)(e);
    } catch (x) {
      shown = typeof e;
    }
    return ['runtime', clip('uncaught ' + shown)];
  }

  function failure(kind, message) {
    return 'e' + kind + SEP + message;
  }

  return function makeHarness(maxChars, maxDepth) {
    function serialize(v, proto) {
      // Fast path for the commonest outputs: a primitive needs no serializer state.
      switch (typeof v) {
        case 'string':
          if (v.length + 2 <= maxChars) {
            const q = quote(v);
            if (q.length <= maxChars) return 'o' + q;
          }
          break;
        case 'number':
          return 'o' + numberText(v);
        case 'boolean':
          return v ? 'otrue' : 'ofalse';
        case 'undefined':
          return 'oundefined';
      }
      if (v === null) return 'onull';
      try {
        return 'o' + makeSerializer(proto, maxChars, maxDepth)(v);
      } catch (e) {
        if (e instanceof Fail) return failure(e.kind, e.message);
        const info = errorInfo(e);
        return failure(info[0], info[1]);
      }
    }

    function runJob(fn, proto, twice, wrapped) {
      let thunk = fn;
      if (wrapped) {
        try {
          thunk = fn();
        } catch (e) {
          const info = errorInfo(e);
          return failure(info[0], info[1]);
        }
      }
      let v;
      try {
        v = thunk();
      } catch (e) {
        const info = errorInfo(e);
        return failure(info[0], info[1]);
      }
      const r1 = serialize(v, proto);
      v = undefined;
      if (!twice || r1[0] !== 'o') return r1;
      try {
        v = thunk();
      } catch (e) {
        const info = errorInfo(e);
        if (info[0] !== 'runtime') return failure(info[0], info[1]);
        return failure(
          'nondeterministic',
          clip('the first call returned ' + r1.slice(1) + ' but the second threw ' + info[1]),
        );
      }
      const r2 = serialize(v, proto);
      if (r2[0] !== 'o') {
        const [kind, message] = r2.slice(1).split(SEP);
        if (kind === 'memory' || kind === 'stack') return r2;
        return failure(
          'nondeterministic',
          clip('the first call returned ' + r1.slice(1) + ' but the second gave: ' + message),
        );
      }
      return r1 === r2 ? r1 : 'n' + r1.slice(1) + SEP + r2.slice(1);
    }

    /**
     * After a job in a hardened context: deletes the globals it added. Existing bindings are non-configurable, so an
     * unchanged key count means nothing was added. Returns '' when the context is as before, else why not (the host
     * then discards the context).
     */
    function reset(g, snap) {
      if (getProto(g) !== snap.proto) return "the global object's prototype was changed";
      if (!isExtensible(g)) return 'the global object was made non-extensible';
      const keys = ownKeys(g);
      if (keys.length === snap.count) return '';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (!snap.keys.has(k) && !deleteProperty(g, k)) return 'a non-configurable global was defined: ' + toStr(k);
      }
      return ownKeys(g).length === snap.count ? '' : 'the global object could not be restored';
    }

    return {
      /** Registers the override getters of a hardened context (see harden.guest.js). */
      trustGetters(getters) {
        for (let i = 0; i < getters.length; i++) trustedGetters.add(getters[i]);
      },
      /** Records a hardened context's global object as it is before any job (a trusted object for `reset`). */
      snapshot(g) {
        const keys = ownKeys(g);
        return { keys: new Set(keys), count: keys.length, proto: getProto(g) };
      },
      /** Before the program runs: removes Math.random; returns the guest realm's Object.prototype. */
      prepare(g) {
        const math = dataOf(g, 'Math', false);
        if (math !== null && typeof math === 'object' && !Object.isFrozen(math)) delete math.random;
        return dataOf(dataOf(g, 'Object', false), 'prototype', true);
      },
      /**
       * One job. `fn` is the thunk, or with `wrapped` a function that runs the program's top level and returns the
       * thunk. The thunk is called (twice when `twice`), each result serialised right after its call. With `g` (a
       * hardened context's global object) the globals the job added are then deleted. Returns
       * resetProblem + U+0002 + result, resetProblem being '' when the context is as it was.
       */
      run(fn, proto, twice, wrapped, g, snap) {
        const result = runJob(fn, proto, twice, wrapped);
        let problem = '';
        if (g !== undefined) {
          try {
            problem = reset(g, snap);
          } catch (e) {
            problem = 'the global object could not be inspected';
          }
        }
        return (problem === '' ? '' : problem.replace(/[\u0000-\u001f]/g, '?')) + '\u0002' + result;
      },
      /** Describes a value thrown while the program's top level ran. */
      describe(e) {
        const info = errorInfo(e);
        return failure(info[0], info[1]);
      },
    };
  };
})();
