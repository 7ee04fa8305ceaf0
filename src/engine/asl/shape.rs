//! Amazon States Language (issue 5). So far: how a plan's step DAG maps onto ASL's structure.
//!
//! ASL has no "needs": a state machine is a sequence of states, and `Parallel` states run
//! branches (each a sequence) at once and end when all have ended. A general DAG is therefore
//! mapped to a tree of sequences and parallels ([`Shape`]):
//!
//! 1. The steps split into weakly connected components (no dependency between them): each
//!    becomes a branch of one `Parallel`.
//! 2. A connected group of several steps becomes a sequence: first the steps that need nothing
//!    inside the group (its sources), then, recursively, the rest — which often splits into
//!    independent components again, and so into a `Parallel` of its own.
//!
//! Every step appears exactly once, and every dependency is kept: a step is only ever placed
//! after the sources of its group, and a dependency between two steps of one component is kept
//! by the sequence (the needed step is a source or, recursively, earlier in the rest). The cost
//! is that a sequence also orders steps that do not depend on each other (a slow source delays
//! the unrelated rest of its group); ASL cannot express an arbitrary DAG without such joins.
//! `tests::every_dependency_is_kept_and_no_step_runs_twice` checks both properties on random DAGs.

use std::collections::BTreeSet;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

/// A plan's steps arranged as ASL can run them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Step(NodeIndex),
    /// One after the other.
    Seq(Vec<Shape>),
    /// At once (an ASL `Parallel` state, one branch each).
    Par(Vec<Shape>),
}

/// The shape of the whole graph (edges point from a needed step to the step that needs it).
pub fn shape<N, E>(g: &DiGraph<N, E>) -> Shape {
    let all: BTreeSet<NodeIndex> = g.node_indices().collect();
    build(g, &all)
}

fn build<N, E>(g: &DiGraph<N, E>, nodes: &BTreeSet<NodeIndex>) -> Shape {
    match (nodes.len(), nodes.first()) {
        (0, _) | (_, None) => return Shape::Seq(Vec::new()),
        (1, Some(n)) => return Shape::Step(*n),
        _ => {}
    }
    let components = components(g, nodes);
    if components.len() > 1 {
        return Shape::Par(components.iter().map(|c| build(g, c)).collect());
    }
    let sources: BTreeSet<NodeIndex> = nodes
        .iter()
        .copied()
        .filter(|n| {
            !g.neighbors_directed(*n, Direction::Incoming)
                .any(|p| nodes.contains(&p))
        })
        .collect();
    let rest: BTreeSet<NodeIndex> = nodes.difference(&sources).copied().collect();
    let mut seq = Vec::new();
    for part in [build(g, &sources), build(g, &rest)] {
        match part {
            // Flatten nested sequences: Seq[a, Seq[b, c]] is Seq[a, b, c].
            Shape::Seq(inner) => seq.extend(inner),
            other => seq.push(other),
        }
    }
    Shape::Seq(seq)
}

/// The weakly connected components of the subgraph induced by `nodes`, in node order.
fn components<N, E>(g: &DiGraph<N, E>, nodes: &BTreeSet<NodeIndex>) -> Vec<BTreeSet<NodeIndex>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for &start in nodes {
        if !seen.insert(start) {
            continue;
        }
        let mut component = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for m in g.neighbors_undirected(n) {
                if nodes.contains(&m) && seen.insert(m) {
                    component.insert(m);
                    stack.push(m);
                }
            }
        }
        out.push(component);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each step's path from the root: (container kind is Seq, index within the container).
    fn paths(
        s: &Shape,
        prefix: &mut Vec<(bool, usize)>,
        out: &mut Vec<(NodeIndex, Vec<(bool, usize)>)>,
    ) {
        match s {
            Shape::Step(n) => out.push((*n, prefix.clone())),
            Shape::Seq(items) | Shape::Par(items) => {
                let seq = matches!(s, Shape::Seq(_));
                for (i, item) in items.iter().enumerate() {
                    prefix.push((seq, i));
                    paths(item, prefix, out);
                    prefix.pop();
                }
            }
        }
    }

    /// True when the shape makes `a` end before `b` starts.
    fn before(a: &[(bool, usize)], b: &[(bool, usize)]) -> bool {
        for (x, y) in a.iter().zip(b) {
            if x.1 != y.1 {
                return x.0 && x.1 < y.1;
            }
        }
        false
    }

    #[test]
    fn every_dependency_is_kept_and_no_step_runs_twice() {
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        for case in 0..2000 {
            let n = rng.usize(1..14);
            let p = rng.f64();
            let mut g: DiGraph<(), ()> = DiGraph::new();
            let nodes: Vec<NodeIndex> = (0..n).map(|_| g.add_node(())).collect();
            // A random topological order, and edges only forward in it: a DAG.
            let mut order = nodes.clone();
            rng.shuffle(&mut order);
            for i in 0..n {
                for j in i + 1..n {
                    if rng.f64() < p * 0.5 {
                        g.add_edge(order[i], order[j], ());
                    }
                }
            }
            let s = shape(&g);
            let mut found = Vec::new();
            paths(&s, &mut Vec::new(), &mut found);
            let mut steps: Vec<NodeIndex> = found.iter().map(|(n, _)| *n).collect();
            steps.sort();
            assert_eq!(
                steps, nodes,
                "case {case}: every step exactly once in {s:?}"
            );
            for e in g.edge_indices() {
                let (u, v) = g.edge_endpoints(e).unwrap();
                let pu = &found.iter().find(|(n, _)| *n == u).unwrap().1;
                let pv = &found.iter().find(|(n, _)| *n == v).unwrap().1;
                assert!(
                    before(pu, pv),
                    "case {case}: {u:?} → {v:?} not kept in {s:?}"
                );
            }
        }
    }

    #[test]
    fn an_empty_plan_is_an_empty_sequence() {
        assert_eq!(shape(&DiGraph::<(), ()>::new()), Shape::Seq(Vec::new()));
    }

    #[test]
    fn independent_branches_run_in_parallel() {
        // capture → {deactivate, deny}; notify alone.
        let mut g: DiGraph<&str, ()> = DiGraph::new();
        let capture = g.add_node("capture");
        let deactivate = g.add_node("deactivate");
        let deny = g.add_node("deny");
        let notify = g.add_node("notify");
        g.add_edge(capture, deactivate, ());
        g.add_edge(capture, deny, ());
        assert_eq!(
            shape(&g),
            Shape::Par(vec![
                Shape::Seq(vec![
                    Shape::Step(capture),
                    Shape::Par(vec![Shape::Step(deactivate), Shape::Step(deny)]),
                ]),
                Shape::Step(notify),
            ])
        );
    }
}
