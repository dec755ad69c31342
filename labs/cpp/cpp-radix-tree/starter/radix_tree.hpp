// TODO: match_prefix, insert, lock, unlock, evict and split (see README.md);
// the accounting, common_prefix and path_of are done.
//
// radix_tree.hpp: a radix tree over token ids for longest-prefix match, the
// structure behind SGLang's RadixCache (vLLM 0.33.0 hashes whole blocks
// instead: see README.md).
//
// Each edge is labelled with a run of tokens (Node::key) and carries one KV
// slot per token (Node::value). A node's path from the root spells a token
// prefix whose KV is cached. Requests lock the node their matched prefix ends
// at; a lock protects that node and every ancestor. Eviction removes unlocked
// leaves, least recently used first; a parent whose last child goes becomes a
// leaf and a candidate itself.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <vector>

using Token = std::int32_t;
using Slot = std::int64_t;

class RadixTree {
 public:
  struct Node {
    std::vector<Token> key;  // edge label: the tokens from the parent to this node
    std::vector<Slot> value;  // one KV slot per token of key
    std::unordered_map<Token, std::unique_ptr<Node>> children;  // by the first token of the child's key
    Node* parent = nullptr;
    int lock_ref = 0;  // requests using this node or a descendant
    std::uint64_t last_access = 0;  // logical clock of the last insert/match that walked through it
  };

  struct Match {
    std::size_t length = 0;   // tokens matched
    Node* node = nullptr;     // the node whose path is exactly the matched tokens (the root for none)
    std::vector<Slot> slots;  // the matched tokens' KV slots, in order
  };

  // on_evict sees the slots of every evicted node, before the node is destroyed.
  using EvictFn = std::function<void(std::span<const Slot>)>;

  explicit RadixTree(EvictFn on_evict = {}) : on_evict_(std::move(on_evict)) {}

  // The longest cached prefix of `tokens`. When the match ends inside an edge,
  // that edge is split so that the returned node ends exactly at the match.
  // Every node on the matched path becomes the most recently used.
  Match match_prefix(std::span<const Token> tokens) {
    ++clock_;
    (void)tokens;
    Match m;
    m.node = &root_;
    return m;  // TODO: walk the children, split a partly matched edge, refresh last_access
  }

  // Cache `tokens` with their KV `slots` (same length). The prefix already in
  // the tree keeps its existing slots; the return value is its length, so the
  // caller can free its own duplicate slots for those tokens.
  std::size_t insert(std::span<const Token> tokens, std::span<const Slot> slots) {
    if (tokens.size() != slots.size()) throw std::invalid_argument("one slot per token");
    return 0;  // TODO: walk like match_prefix, then hang the rest off the last node as a new leaf
  }

  // A request uses the prefix ending at `node`: protect it and every ancestor.
  void lock(Node* node) {
    if (node == nullptr) throw std::invalid_argument("lock(nullptr)");
    ++node->lock_ref;  // TODO: the whole path to the root, and the evictable/protected counts
  }

  // The request is done with it. Throws std::logic_error if `node` is not locked.
  void unlock(Node* node) {
    if (node == nullptr) throw std::invalid_argument("unlock(nullptr)");
    --node->lock_ref;  // TODO
  }

  // Evict unlocked leaves, least recently used first, until at least
  // `num_tokens` tokens are freed or nothing unlocked is left. Whole nodes go.
  // Returns the number of tokens freed.
  std::size_t evict(std::size_t num_tokens) {
    (void)num_tokens;
    return 0;  // TODO: a min-heap of unlocked leaves on last_access
  }

  std::size_t total_tokens() const { return evictable_ + protected_; }
  std::size_t evictable_tokens() const { return evictable_; }  // in nodes with lock_ref == 0
  std::size_t protected_tokens() const { return protected_; }  // in locked nodes
  std::size_t num_nodes() const { return num_nodes_; }        // the root not counted
  const Node* root() const { return &root_; }

  // The tokens spelled by the path from the root to `node`.
  static std::vector<Token> path_of(const Node* node) {
    std::vector<const Node*> chain;
    for (const Node* n = node; n != nullptr; n = n->parent) chain.push_back(n);
    std::vector<Token> out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) out.insert(out.end(), (*it)->key.begin(), (*it)->key.end());
    return out;
  }

 private:
  static std::size_t common_prefix(const std::vector<Token>& key, std::span<const Token> tokens) {
    std::size_t k = 0;
    while (k < key.size() && k < tokens.size() && key[k] == tokens[k]) ++k;
    return k;
  }

  // Split `child`'s edge after its first `n` tokens (0 < n < key size): a new
  // node takes the first n tokens and slots and becomes child's parent.
  // Returns the new node.
  Node* split(Node* child, std::size_t n) {
    (void)n;
    return child;  // TODO
  }

  Node root_;
  EvictFn on_evict_;
  std::uint64_t clock_ = 0;
  std::size_t evictable_ = 0;
  std::size_t protected_ = 0;
  std::size_t num_nodes_ = 0;
};
