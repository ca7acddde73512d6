/* The segment rule builder of the admin (no framework, no build step).
 *
 * The form field that is saved is the rule's JSON (the textarea #id_rule); this script draws a
 * builder over it and keeps both in step: every change in the builder rewrites the JSON, and
 * editing the JSON redraws the builder (or says where the JSON stops parsing). The server
 * validates whatever is posted, so nothing here has to be trusted.
 *
 * Rule grammar (SPEC §6): {"all": [R…]}, {"any": [R…]}, {"not": R} or
 * {"field": F, "op": O, "value": V}. The page hands the fields, their ops and real values in
 * the json_script #rule-builder-config (segments.selectors.rule_builder_options).
 */
(function () {
  "use strict";

  var LIST_OPS = ["in", "not_in"];
  var NO_VALUE_OPS = ["is_null", "not_null"];
  var OP_LABELS = {
    eq: "is", ne: "is not", in: "is one of", not_in: "is none of", gt: ">", gte: "≥", lt: "<",
    lte: "≤", between: "is between", is_null: "is empty", not_null: "is set",
  };
  var NUMBER_OP_LABELS = { eq: "=", ne: "≠" };
  var SET_OP_LABELS = {
    eq: "includes", ne: "does not include", in: "includes any of", not_in: "includes none of",
    is_null: "is empty (no use case)", not_null: "is not empty",
  };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function button(label, className, onClick, title) {
    var b = el("button", { type: "button", className: "rb-button " + className, text: label });
    if (title) b.title = title;
    b.addEventListener("click", function (event) { event.preventDefault(); onClick(); });
    return b;
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function kindOf(node) {
    if (!isObject(node)) return "raw";
    var keys = Object.keys(node);
    var groups = keys.filter(function (k) { return k === "all" || k === "any" || k === "not"; });
    if (groups.length === 0) return "condition";
    if (groups.length > 1 || keys.length > 1) return "raw";
    if (groups[0] === "not") return isObject(node.not) ? "not" : "raw";
    return Array.isArray(node[groups[0]]) ? "group" : "raw";
  }

  /* Where JSON.parse stopped, as "line L, column C" (Chromium and Firefox say it differently). */
  function jsonErrorMessage(text, error) {
    var message = String(error.message || error);
    var at = /position (\d+)/.exec(message);
    var lineCol = /line (\d+) column (\d+)/.exec(message);
    var reason = message.replace(/ in JSON at position \d+.*$/, "").replace(/^JSON\.parse: /, "").replace(/ at line \d+ column \d+.*$/, "");
    if (lineCol) return "line " + lineCol[1] + ", column " + lineCol[2] + ": " + reason;
    if (at) {
      var before = text.slice(0, Number(at[1])).split("\n");
      return "line " + before.length + ", column " + (before[before.length - 1].length + 1) + ": " + reason;
    }
    return reason;
  }

  function RuleBuilder(textarea, config) {
    this.textarea = textarea;
    this.config = config;
    this.fields = {};
    config.fields.forEach(function (f) { this.fields[f.name] = f; }, this);
    this.rule = null;
    this.build();
  }

  RuleBuilder.prototype.build = function () {
    var self = this;
    var row = this.textarea.closest(".form-row") || this.textarea.parentNode;
    row.classList.add("rb-row");
    this.root = el("div", { className: "rb-builder", "aria-label": "Rule builder" });
    this.jsonError = el("p", { className: "rb-json-error", role: "alert" });
    this.jsonError.hidden = true;
    this.jsonToggle = button("Edit as JSON", "rb-json-toggle", function () { self.showJson(self.jsonBox.hidden); });
    this.previewButton = button("Preview matches", "rb-preview-button default", function () { self.preview(); });
    this.previewBox = el("div", { className: "rb-preview", "aria-live": "polite" });
    var toolbar = el("div", { className: "rb-toolbar" }, [this.previewButton, this.jsonToggle]);

    // The textarea stays the form's field; it moves into a box the toggle shows and hides.
    this.jsonBox = el("div", { className: "rb-json" }, [
      el("p", { className: "rb-help", text: "The rule as JSON. Edit it here and the builder follows; it is checked again when you save." }),
    ]);
    var wrap = el("div", { className: "rb-wrap" });
    this.textarea.parentNode.insertBefore(wrap, this.textarea);
    this.jsonBox.appendChild(this.textarea);
    this.jsonBox.appendChild(this.jsonError);
    [this.root, toolbar, this.previewBox, this.jsonBox].forEach(function (node) { wrap.appendChild(node); });

    this.textarea.addEventListener("input", function () { self.fromJson(false); });
    var parsed = this.fromJson(true);
    this.showJson(!parsed);
    var refused = Array.prototype.map.call(row.querySelectorAll(".errorlist li"), function (li) { return li.textContent; });
    this.markErrors(refused);
    // A refused save: the JSON shows exactly what was submitted (a value such as '100k' that a
    // number box cannot hold is kept there), next to the builder with the errors on its conditions.
    if (refused.length) this.showJson(true);
  };

  RuleBuilder.prototype.showJson = function (show) {
    this.jsonBox.hidden = !show;
    this.jsonToggle.textContent = show ? "Hide JSON" : "Edit as JSON";
    this.jsonToggle.setAttribute("aria-expanded", show ? "true" : "false");
  };

  /* Reads the textarea; returns whether it parsed. A new form starts with one empty condition. */
  RuleBuilder.prototype.fromJson = function (initial) {
    var text = this.textarea.value.trim();
    if (initial && (text === "" || text === "{}")) {
      this.rule = { all: [this.newCondition()] };
      this.write();
      this.render();
      return true;
    }
    try {
      this.rule = JSON.parse(text);
    } catch (error) {
      this.jsonError.textContent = "The JSON does not parse at " + jsonErrorMessage(this.textarea.value, error) +
        ". The builder shows the last rule that did.";
      this.jsonError.hidden = false;
      this.root.classList.add("rb-stale");
      return false;
    }
    this.jsonError.hidden = true;
    this.root.classList.remove("rb-stale");
    this.render();
    return true;
  };

  RuleBuilder.prototype.write = function () {
    this.textarea.value = JSON.stringify(this.rule, null, 2);
    this.jsonError.hidden = true;
    this.root.classList.remove("rb-stale");
  };

  /* A structural change (added, removed, negated, another field or op): rewrite and redraw. */
  RuleBuilder.prototype.changed = function () {
    this.write();
    this.render();
  };

  RuleBuilder.prototype.newCondition = function () {
    return { field: "vertical", op: "eq", value: null };
  };

  RuleBuilder.prototype.render = function () {
    var self = this;
    this.root.textContent = "";
    var ctx = {
      path: "rule",
      replace: function (node) { self.rule = node; },
      remove: null,
    };
    var top = this.renderNode(this.rule, ctx);
    this.root.appendChild(top);
    if (kindOf(this.rule) !== "group") {
      // A rule that is one condition (or one "not"): adding beside it puts both in an "all of" group.
      this.root.appendChild(el("div", { className: "rb-actions" }, [
        button("+ Condition", "rb-add-condition", function () {
          self.rule = { all: [self.rule, self.newCondition()] };
          self.changed();
        }),
        button("+ Group", "rb-add-group", function () {
          self.rule = { all: [self.rule, { any: [self.newCondition()] }] };
          self.changed();
        }),
      ]));
    }
  };

  RuleBuilder.prototype.renderNode = function (node, ctx) {
    var kind = kindOf(node);
    var box;
    if (kind === "group") box = this.renderGroup(node, ctx);
    else if (kind === "not") box = this.renderNot(node, ctx);
    else if (kind === "condition") box = this.renderCondition(node, ctx);
    else box = this.renderRaw(node, ctx);
    box.setAttribute("data-path", ctx.path);
    return box;
  };

  /* Negate and Remove, shown on every node that is a group's child. */
  RuleBuilder.prototype.nodeButtons = function (node, ctx) {
    var self = this;
    if (!ctx.remove) return [];
    return [
      button("Not", "rb-negate", function () { ctx.replace({ not: node }); self.changed(); }, "Match the opposite of this"),
      button("Remove", "rb-remove", function () { ctx.remove(); self.changed(); }),
    ];
  };

  RuleBuilder.prototype.renderGroup = function (node, ctx) {
    var self = this;
    var key = "all" in node ? "all" : "any";
    var combinator = el("select", { className: "rb-combinator", "aria-label": "Combine with" }, [
      el("option", { value: "all", text: "All of" }),
      el("option", { value: "any", text: "Any of" }),
    ]);
    combinator.value = key;
    combinator.addEventListener("change", function () {
      var replacement = {};
      replacement[combinator.value] = node[key];
      ctx.replace(replacement);
      self.changed();
    });
    var children = el("div", { className: "rb-children" });
    node[key].forEach(function (child, i) {
      children.appendChild(self.renderNode(child, {
        path: ctx.path + "." + key + "[" + i + "]",
        replace: function (n) { node[key][i] = n; },
        remove: function () { node[key].splice(i, 1); },
      }));
    });
    if (node[key].length === 0) {
      children.appendChild(el("p", { className: "rb-empty", text: "This group is empty: add a condition or remove it." }));
    }
    var head = el("div", { className: "rb-head" }, [
      combinator,
      el("span", { className: "rb-head-text", text: "these are true" }),
      el("span", { className: "rb-spacer" }),
    ].concat(this.nodeButtons(node, ctx)));
    var actions = el("div", { className: "rb-actions" }, [
      button("+ Condition", "rb-add-condition", function () { node[key].push(self.newCondition()); self.changed(); }),
      button("+ Group", "rb-add-group", function () {
        node[key].push({ any: [self.newCondition()] });
        self.changed();
      }, "A nested group: \"any of\" inside \"all of\", or the other way round"),
    ]);
    return el("div", { className: "rb-group rb-group-" + key }, [head, children, actions]);
  };

  RuleBuilder.prototype.renderNot = function (node, ctx) {
    var self = this;
    var buttons = [
      button("Remove not", "rb-unnegate", function () { ctx.replace(node.not); self.changed(); }, "Match this again, not its opposite"),
    ];
    if (ctx.remove) buttons.push(button("Remove", "rb-remove", function () { ctx.remove(); self.changed(); }));
    var head = el("div", { className: "rb-head" }, [
      el("span", { className: "rb-badge", text: "NOT" }),
      el("span", { className: "rb-head-text", text: "— true when this is false:" }),
      el("span", { className: "rb-spacer" }),
    ].concat(buttons));
    var inner = this.renderNode(node.not, {
      path: ctx.path + ".not",
      replace: function (n) { node.not = n; },
      remove: null,
    });
    return el("div", { className: "rb-not" }, [head, el("div", { className: "rb-children" }, [inner])]);
  };

  RuleBuilder.prototype.renderRaw = function (node, ctx) {
    return el("div", { className: "rb-raw" }, [
      el("span", { text: "Only editable as JSON: " }),
      el("code", { text: JSON.stringify(node) }),
    ].concat(this.nodeButtons(node, ctx).slice(1)));
  };

  RuleBuilder.prototype.opLabel = function (kind, op) {
    if (kind === "set" && SET_OP_LABELS[op]) return SET_OP_LABELS[op];
    if (kind === "number" && NUMBER_OP_LABELS[op]) return NUMBER_OP_LABELS[op];
    return OP_LABELS[op] || op;
  };

  RuleBuilder.prototype.renderCondition = function (cond, ctx) {
    var self = this;
    var spec = this.fields[cond.field];
    var fieldSelect = el("select", { className: "rb-field", "aria-label": "Field" });
    this.config.fields.forEach(function (f) {
      fieldSelect.appendChild(el("option", { value: f.name, text: f.label }));
    });
    if (!spec) fieldSelect.appendChild(el("option", { value: String(cond.field), text: String(cond.field) + " (unknown field)" }));
    fieldSelect.value = String(cond.field);

    var ops = spec ? this.config.ops_by_kind[spec.kind] : [];
    var opSelect = el("select", { className: "rb-op", "aria-label": "Operator" });
    ops.forEach(function (op) { opSelect.appendChild(el("option", { value: op, text: self.opLabel(spec.kind, op) })); });
    if (ops.indexOf(cond.op) < 0) {
      var why = spec ? " (not for this field)" : "";
      opSelect.appendChild(el("option", { value: String(cond.op), text: String(cond.op) + why }));
    }
    opSelect.value = String(cond.op);

    fieldSelect.addEventListener("change", function () {
      var next = self.fields[fieldSelect.value];
      var sameValues = spec && next.kind === spec.kind &&
        JSON.stringify(self.config.values[next.name] || null) === JSON.stringify(self.config.values[spec.name] || null);
      var nextOps = self.config.ops_by_kind[next.kind];
      var op = nextOps.indexOf(cond.op) >= 0 ? cond.op : nextOps[0];
      var replacement = { field: next.name, op: op };
      if (NO_VALUE_OPS.indexOf(op) < 0) replacement.value = sameValues ? cond.value : self.emptyValue(op);
      ctx.replace(replacement);
      self.changed();
    });
    opSelect.addEventListener("change", function () {
      var op = opSelect.value;
      var replacement = { field: cond.field, op: op };
      if (NO_VALUE_OPS.indexOf(op) < 0) replacement.value = self.convertValue(cond.value, op);
      ctx.replace(replacement);
      self.changed();
    });

    var row = el("div", { className: "rb-condition" }, [fieldSelect, opSelect, this.valueEditor(cond, spec)]);
    row.appendChild(el("span", { className: "rb-spacer" }));
    this.nodeButtons(cond, ctx).forEach(function (b) { row.appendChild(b); });
    return row;
  };

  RuleBuilder.prototype.emptyValue = function (op) {
    if (LIST_OPS.indexOf(op) >= 0) return [];
    if (op === "between") return [null, null];
    return null;
  };

  /* Keeps what can be kept when the op changes: one value ↔ a list ↔ [low, high]. */
  RuleBuilder.prototype.convertValue = function (value, op) {
    var list = Array.isArray(value) ? value.filter(function (v) { return v !== null; }) : (value === null || value === undefined ? [] : [value]);
    if (LIST_OPS.indexOf(op) >= 0) return list;
    if (op === "between") return [list.length ? list[0] : null, list.length > 1 ? list[1] : null];
    return list.length ? list[0] : null;
  };

  RuleBuilder.prototype.valueEditor = function (cond, spec) {
    var self = this;
    var op = cond.op;
    var box = el("span", { className: "rb-value" });
    if (NO_VALUE_OPS.indexOf(op) >= 0) return box;
    var set = function (value) { cond.value = value; self.write(); };
    var known = spec ? this.config.values[spec.name] : null;
    // Fixed values (bands, personas) are shown by their label; the rule keeps the key.
    var labels = (spec && this.config.value_labels && this.config.value_labels[spec.name]) || {};
    function labelOf(v) { return labels[String(v).toLowerCase()] || String(v); }
    var isNumber = spec && spec.kind === "number";

    if (!spec || (Array.isArray(cond.value) && LIST_OPS.indexOf(op) < 0 && op !== "between")) {
      // Something the pickers cannot show (an unknown field, a list where one value belongs): JSON text.
      var raw = el("input", { type: "text", className: "rb-value-json", "aria-label": "Value (JSON)" });
      raw.value = cond.value === undefined ? "" : JSON.stringify(cond.value);
      raw.addEventListener("input", function () {
        try { set(JSON.parse(raw.value)); } catch (e) { set(raw.value); }
      });
      box.appendChild(raw);
      return box;
    }
    if (op === "between") {
      var pair = Array.isArray(cond.value) ? cond.value.slice(0, 2) : [null, null];
      while (pair.length < 2) pair.push(null);
      [0, 1].forEach(function (i) {
        var input = this.numberInput(pair[i], i === 0 ? "From" : "To", function (v) { pair[i] = v; set(pair.slice()); });
        if (i === 1) box.appendChild(el("span", { className: "rb-and", text: "and" }));
        box.appendChild(input);
      }, this);
      return box;
    }
    if (isNumber) {
      if (LIST_OPS.indexOf(op) >= 0) {
        var numbers = el("input", { type: "text", className: "rb-value-list", "aria-label": "Values",
          placeholder: "e.g. 10, 20, 30" });
        numbers.value = (Array.isArray(cond.value) ? cond.value : []).join(", ");
        numbers.addEventListener("input", function () {
          set(numbers.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(function (s) {
            var n = Number(s);
            return isFinite(n) ? n : s; // the server names what is not a number
          }));
        });
        box.appendChild(numbers);
        return box;
      }
      box.appendChild(this.numberInput(cond.value, "Value", set));
      return box;
    }
    var values = (known || []).slice();
    var current = Array.isArray(cond.value) ? cond.value : (cond.value === null || cond.value === undefined ? [] : [cond.value]);
    current.forEach(function (v) {
      var found = values.some(function (k) { return typeof v === "string" && k.toLowerCase() === v.toLowerCase(); });
      if (!found) values.push(v);
    });
    if (LIST_OPS.indexOf(op) >= 0) {
      if (!values.length) {
        var texts = el("input", { type: "text", className: "rb-value-list", "aria-label": "Values", placeholder: "comma-separated" });
        texts.value = current.join(", ");
        texts.addEventListener("input", function () {
          set(texts.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean));
        });
        box.appendChild(texts);
        return box;
      }
      var multi = el("select", { className: "rb-value-multi", multiple: "multiple", "aria-label": "Values",
        size: String(Math.min(Math.max(values.length, 2), 6)) });
      values.forEach(function (v) {
        var option = el("option", { value: String(v), text: labelOf(v) });
        option.selected = current.some(function (c) { return String(c).toLowerCase() === String(v).toLowerCase(); });
        multi.appendChild(option);
      });
      multi.addEventListener("change", function () {
        set(Array.prototype.filter.call(multi.options, function (o) { return o.selected; }).map(function (o) { return o.value; }));
      });
      box.appendChild(multi);
      box.appendChild(el("span", { className: "rb-hint", text: "Ctrl/⌘-click to pick several" }));
      return box;
    }
    if (!values.length) {
      var text = el("input", { type: "text", className: "rb-value-text", "aria-label": "Value" });
      text.value = current.length ? String(current[0]) : "";
      text.addEventListener("input", function () { set(text.value === "" ? null : text.value); });
      box.appendChild(text);
      return box;
    }
    var single = el("select", { className: "rb-value-select", "aria-label": "Value" },
      [el("option", { value: "", text: "— pick a value —" })]);
    values.forEach(function (v) { single.appendChild(el("option", { value: String(v), text: labelOf(v) })); });
    var match = values.filter(function (v) { return current.length && String(v).toLowerCase() === String(current[0]).toLowerCase(); });
    single.value = match.length ? String(match[0]) : "";
    single.addEventListener("change", function () { set(single.value === "" ? null : single.value); });
    box.appendChild(single);
    return box;
  };

  RuleBuilder.prototype.numberInput = function (value, label, onChange) {
    var input = el("input", { type: "number", step: "any", className: "rb-value-number", "aria-label": label });
    input.value = typeof value === "number" ? String(value) : "";
    input.addEventListener("input", function () {
      onChange(input.value === "" ? null : Number(input.value));
    });
    return input;
  };

  /* Puts each server message ("rule.all[1].value: …") on the builder node its path names. */
  RuleBuilder.prototype.markErrors = function (messages) {
    var nodes = Array.prototype.slice.call(this.root.querySelectorAll("[data-path]"));
    this.root.querySelectorAll(".rb-node-error").forEach(function (n) { n.remove(); });
    this.root.querySelectorAll(".rb-invalid").forEach(function (n) { n.classList.remove("rb-invalid"); });
    messages.forEach(function (message) {
      // Preview errors carry their path (data-path); the form's own error list only its text.
      var path = message.path || message.split(": ")[0];
      var best = null;
      nodes.forEach(function (node) {
        var p = node.getAttribute("data-path");
        var next = path.charAt(p.length);
        if (path.indexOf(p) === 0 && (next === "" || next === "." || next === "[") &&
            (!best || p.length > best.getAttribute("data-path").length)) best = node;
      });
      if (!best) return;
      best.classList.add("rb-invalid");
      best.appendChild(el("p", { className: "rb-node-error", text: message }));
    });
  };

  RuleBuilder.prototype.preview = function () {
    var self = this;
    var form = this.textarea.form;
    var body = new FormData();
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    body.append("rule", this.textarea.value);
    body.append("segment", this.config.segment === null ? "" : String(this.config.segment));
    this.previewButton.disabled = true;
    this.previewBox.textContent = "Counting…";
    fetch(this.config.preview_url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "" },
    }).then(function (response) {
      if (response.redirected || !response.ok) {
        throw new Error(response.redirected ? "your session has ended; log in again" : "the server answered " + response.status);
      }
      return response.text();
    }).then(function (html) {
      self.previewBox.innerHTML = html;
      self.markErrors(Array.prototype.map.call(self.previewBox.querySelectorAll(".rule-preview-errors li"),
        function (li) { var m = new String(li.textContent); m.path = li.getAttribute("data-path"); return m; }));
    }).catch(function (error) {
      self.previewBox.textContent = "";
      self.previewBox.appendChild(el("p", { className: "errornote", text: "Preview failed: " + error.message + "." }));
    }).then(function () { self.previewButton.disabled = false; });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var configNode = document.getElementById("rule-builder-config");
    var textarea = document.getElementById("id_rule");
    if (!configNode || !textarea) return;
    window.ruleBuilder = new RuleBuilder(textarea, JSON.parse(configNode.textContent));
  });
})();
