//! Checks across a playbook: the step graph (needs, cycles) and every reference to the finding,
//! an input or another step's outputs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};

use super::*;
use crate::domain::diag::Code;
use crate::domain::expr::{self, Root, Seg};

impl Cx<'_> {
    /// Unknown needs and afters, a step that needs (or comes after) itself, and cycles through
    /// both.
    pub(super) fn check_graph(&mut self, steps: &[Step]) {
        let index: HashMap<&str, usize> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut g: DiGraph<usize, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..steps.len()).map(|i| g.add_node(i)).collect();
        for (i, s) in steps.iter().enumerate() {
            let edges = s
                .needs
                .iter()
                .map(|n| (n, "needs"))
                .chain(s.after.iter().map(|n| (n, "after")));
            for (n, key) in edges {
                let verb = if key == "needs" {
                    "needs"
                } else {
                    "comes after"
                };
                match index.get(n.value.as_str()) {
                    Some(&j) if j == i => self.err(
                        Code::DependencyCycle,
                        n.pos,
                        format!("step `{}` {verb} itself", s.id),
                        format!("remove it from its own `{key}`"),
                    ),
                    Some(&j) => {
                        g.update_edge(nodes[j], nodes[i], ());
                    }
                    None => {
                        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
                        let hint = match closest(&n.value, &ids) {
                            Some(c) => format!("did you mean `{c}`?"),
                            None => format!("steps in this playbook: {}", ids.join(", ")),
                        };
                        self.err(
                            Code::UnknownNeed,
                            n.pos,
                            format!(
                                "step `{}` {verb} `{}`, which is not a step of this playbook",
                                s.id, n.value
                            ),
                            hint,
                        );
                    }
                }
            }
        }
        for scc in petgraph::algo::tarjan_scc(&g) {
            if scc.len() < 2 {
                continue;
            }
            let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
            let Some(&start) = members.iter().min_by_key(|n| g[**n]) else {
                continue;
            };
            // Walk successors inside the component until a node repeats: that is a cycle.
            let mut path = vec![start];
            let mut cur = start;
            while let Some(next) = g
                .neighbors(cur)
                .filter(|n| members.contains(n))
                .min_by_key(|n| g[*n])
            {
                if let Some(at) = path.iter().position(|p| *p == next) {
                    path.drain(..at);
                    path.push(next);
                    break;
                }
                path.push(next);
                cur = next;
            }
            let names: Vec<&str> = path.iter().map(|n| steps[g[*n]].id.as_str()).collect();
            let first = &steps[g[path[0]]];
            self.err(Code::DependencyCycle, first.pos, format!("dependency cycle: {}", names.join(" → ")), "steps run after the steps they need or come after; break the cycle by removing one `needs` or `after` entry");
        }
    }

    /// A `no_containment` condition is decided before any step runs: it reads known finding
    /// fields and declared inputs only.
    pub(super) fn check_no_containment_references(
        &mut self,
        rules: &[NoContainment],
        inputs: &[Input],
    ) {
        for c in rules.iter().filter_map(|r| r.when.as_ref()) {
            for p in c.expr.paths() {
                match p.root {
                    Root::Finding => self.check_finding_path(p, c.pos),
                    Root::Inputs => {
                        let declared = matches!(p.segs.first(), Some(Seg::Field(n)) if inputs.iter().any(|i| &i.name == n));
                        if !declared {
                            self.err(
                                Code::UnknownInput,
                                c.pos,
                                format!("`no_containment` condition reads `{p}`, which is not a declared input"),
                                "declare it under `inputs:`",
                            );
                        }
                    }
                    Root::Steps => self.err(
                        Code::UnknownStep,
                        c.pos,
                        format!("`no_containment` condition reads `{p}`: it is decided before any step runs"),
                        "read the finding or the inputs",
                    ),
                }
            }
        }
    }

    /// Every expression's paths: known finding fields, declared inputs, and outputs of steps that
    /// the reading step (transitively) needs.
    pub(super) fn check_references(&mut self, inputs: &[Input], steps: &[Step]) {
        let input_names: BTreeSet<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        let by_id: BTreeMap<&str, &Step> = steps.iter().map(|s| (s.id.as_str(), s)).collect();
        for input in inputs {
            if let Some(t) = &input.from {
                for p in t.paths() {
                    match p.root {
                        Root::Finding => self.check_finding_path(p, input.pos),
                        Root::Inputs | Root::Steps => self.err(
                            Code::UnknownInput,
                            input.pos,
                            format!(
                                "input `{}` reads `{p}`: inputs are bound from the finding only",
                                input.name
                            ),
                            "compute it in the step that needs it instead",
                        ),
                    }
                }
            }
        }
        for step in steps {
            let ancestors = ancestors(step, &by_id);
            let mut paths: Vec<(&expr::Path, Pos)> = Vec::new();
            for arg in &step.with {
                for t in arg.value.templates() {
                    paths.extend(t.paths().into_iter().map(|p| (p, arg.pos)));
                }
            }
            if let Some(c) = &step.when {
                paths.extend(c.expr.paths().into_iter().map(|p| (p, c.pos)));
            }
            for (p, pos) in paths {
                match p.root {
                    Root::Finding => self.check_finding_path(p, pos),
                    Root::Inputs => match p.segs.first() {
                        Some(Seg::Field(name)) if input_names.contains(name.as_str()) => {}
                        Some(Seg::Field(name)) => {
                            let names: Vec<&str> = input_names.iter().copied().collect();
                            let hint = match closest(name, &names) {
                                Some(c) => format!("did you mean `inputs.{c}`?"),
                                None if names.is_empty() => {
                                    "this playbook declares no inputs".into()
                                }
                                None => format!("declared inputs: {}", names.join(", ")),
                            };
                            self.err(
                                Code::UnknownInput,
                                pos,
                                format!("`{p}` names an input this playbook does not declare"),
                                hint,
                            );
                        }
                        _ => self.err(
                            Code::UnknownInput,
                            pos,
                            format!("`{p}` must name an input: inputs.<name>"),
                            "",
                        ),
                    },
                    Root::Steps => self.check_step_path(p, pos, step, &by_id, &ancestors),
                }
            }
        }
    }

    pub(super) fn check_finding_path(&mut self, p: &expr::Path, pos: Pos) {
        if let Err((bad, options)) = finding_field_known(&p.segs) {
            let names: Vec<&str> = options.iter().map(String::as_str).collect();
            let hint = match closest(&bad, &names) {
                Some(c) => format!("did you mean `{c}`?"),
                None if names.is_empty() => {
                    "see data/finding-fields.txt for the fields a finding has".into()
                }
                None => format!("fields here: {}", names.join(", ")),
            };
            self.err(
                Code::UnknownFindingField,
                pos,
                format!("`{p}`: a GuardDuty finding has no field `{bad}` there"),
                hint,
            );
        }
    }

    pub(super) fn check_step_path(
        &mut self,
        p: &expr::Path,
        pos: Pos,
        step: &Step,
        by_id: &BTreeMap<&str, &Step>,
        ancestors: &BTreeSet<String>,
    ) {
        let (Some(Seg::Field(target)), Some(Seg::Field(outputs)), Some(Seg::Field(output))) =
            (p.segs.first(), p.segs.get(1), p.segs.get(2))
        else {
            self.err(
                Code::UnknownStep,
                pos,
                format!("`{p}` must read a step output: steps.<id>.outputs.<name>"),
                "",
            );
            return;
        };
        let Some(other) = by_id.get(target.as_str()) else {
            let ids: Vec<&str> = by_id.keys().copied().collect();
            let hint = match closest(target, &ids) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("steps: {}", ids.join(", ")),
            };
            self.err(
                Code::UnknownStep,
                pos,
                format!("`{p}` reads step `{target}`, which is not a step of this playbook"),
                hint,
            );
            return;
        };
        if outputs != "outputs" {
            self.err(
                Code::UnknownStep,
                pos,
                format!("`{p}` must read a step output: steps.{target}.outputs.<name>"),
                "",
            );
            return;
        }
        let spec = other.action.spec();
        if spec.output(output).is_none() {
            let names: Vec<&str> = spec.outputs.iter().map(|o| o.name).collect();
            let hint = if names.is_empty() {
                format!("{} has no outputs", other.action)
            } else {
                format!("{} outputs: {}", other.action, names.join(", "))
            };
            self.err(
                Code::UnknownOutput,
                pos,
                format!("`{p}`: {} has no output `{output}`", other.action),
                hint,
            );
            return;
        }
        if target == &step.id {
            self.err(
                Code::OutputWithoutNeeds,
                pos,
                format!("step `{}` reads its own output `{p}`", step.id),
                "a step can read only outputs of steps that ran before it",
            );
        } else if !ancestors.contains(target.as_str()) {
            self.err(
                Code::OutputWithoutNeeds,
                pos,
                format!(
                    "step `{}` reads `{p}` but does not need step `{target}`",
                    step.id
                ),
                format!(
                    "add `{target}` to the `needs` of `{}` so it runs first",
                    step.id
                ),
            );
        }
    }
}

/// Ids of every step `step` needs, directly or through others (cycles tolerated).
pub(super) fn ancestors(step: &Step, by_id: &BTreeMap<&str, &Step>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = step.needs.iter().map(|n| n.value.as_str()).collect();
    while let Some(id) = stack.pop() {
        if seen.insert(id.to_string())
            && let Some(s) = by_id.get(id)
        {
            stack.extend(s.needs.iter().map(|n| n.value.as_str()));
        }
    }
    seen
}
