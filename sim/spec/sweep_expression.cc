// SPDX-License-Identifier: Apache-2.0
// File: sweep_expression.cc
// SweepExpression: a recursive-descent parser into a flat node array, and its evaluator.
// Grammar, lowest precedence first:
//   or := and ("||" and)*      and := cmp ("&&" cmp)*      cmp := sum (("=="|"!="|"<"|...) sum)?
//   sum := prod (("+"|"-") prod)*      prod := unary (("*"|"/"|"%") unary)*
//   unary := ("!"|"-") unary | primary      primary := number | "string" | name | "(" or ")"
#include "stepsim/error.h"
#include "stepsim/sweep.h"
#include "stepsim/units.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace stepsim {

namespace {

using Node = SweepExpression::Node;
using Value = SweepExpression::Value;

// Parsing and evaluation recurse: a deeper expression overflowed the stack (a fuzz find, a
// filter of 1,000 nested parentheses). Nesting counts parentheses and unary operators; the
// length bounds a chain of binary operators, which the evaluator walks recursively too.
constexpr int kMaxNesting = 100;
constexpr std::size_t kMaxExpressionLength = 4096;

class Parser {
public:
    Parser(std::string_view text, std::vector<Node>& nodes)
        : text_(text)
        , nodes_(nodes) {}

    int parse() {
        if (text_.size() > kMaxExpressionLength) {
            throw ResourceLimitError("the expression is " + std::to_string(text_.size()) +
                                     " characters long, more than " +
                                     std::to_string(kMaxExpressionLength));
        }
        const int root = parse_or();
        skip_space();
        if (at_ < text_.size()) {
            fail("unexpected \"" + std::string(text_.substr(at_, 1)) + "\"");
        }
        return root;
    }

private:
    [[noreturn]] void fail(const std::string& message) const {
        throw UserError("column " + std::to_string(at_ + 1) + ": " + message);
    }

    void skip_space() {
        while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) {
            ++at_;
        }
    }

    bool accept(std::string_view op) {
        skip_space();
        if (text_.substr(at_, op.size()) == op) {
            at_ += op.size();
            return true;
        }
        return false;
    }

    int add(Node node) {
        nodes_.push_back(std::move(node));
        return static_cast<int>(nodes_.size()) - 1;
    }

    int binary(std::string op, int left, int right) {
        Node node;
        node.kind = Node::Kind::kBinary;
        node.op = std::move(op);
        node.left = left;
        node.right = right;
        return add(std::move(node));
    }

    int parse_or() {
        int left = parse_and();
        while (accept("||")) {
            left = binary("||", left, parse_and());
        }
        return left;
    }

    int parse_and() {
        int left = parse_comparison();
        while (accept("&&")) {
            left = binary("&&", left, parse_comparison());
        }
        return left;
    }

    int parse_comparison() {
        const int left = parse_sum();
        for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
            if (accept(op)) {
                return binary(op, left, parse_sum());
            }
        }
        return left;
    }

    int parse_sum() {
        int left = parse_product();
        while (true) {
            if (accept("+")) {
                left = binary("+", left, parse_product());
            } else if (accept("-")) {
                left = binary("-", left, parse_product());
            } else {
                return left;
            }
        }
    }

    int parse_product() {
        int left = parse_unary();
        while (true) {
            if (accept("*")) {
                left = binary("*", left, parse_unary());
            } else if (accept("/")) {
                left = binary("/", left, parse_unary());
            } else if (accept("%")) {
                left = binary("%", left, parse_unary());
            } else {
                return left;
            }
        }
    }

    /// Counts one level of nesting while alive.
    class Nested {
    public:
        explicit Nested(Parser& parser)
            : parser_(parser) {
            if (++parser_.depth_ > kMaxNesting) {
                parser_.fail("nested deeper than " + std::to_string(kMaxNesting) + " levels");
            }
        }

        ~Nested() { --parser_.depth_; }

        Nested(const Nested&) = delete;
        Nested& operator=(const Nested&) = delete;

    private:
        Parser& parser_;
    };

    int parse_unary() {
        const Nested nested(*this);
        skip_space();
        if (text_.substr(at_, 2) != "!=" && accept("!")) {
            Node node;
            node.kind = Node::Kind::kUnary;
            node.op = "!";
            node.left = parse_unary();
            return add(std::move(node));
        }
        if (accept("-")) {
            Node node;
            node.kind = Node::Kind::kUnary;
            node.op = "-";
            node.left = parse_unary();
            return add(std::move(node));
        }
        return parse_primary();
    }

    int parse_primary() {
        skip_space();
        if (at_ >= text_.size()) {
            fail("expected a value, got the end of the expression");
        }
        const char c = text_[at_];
        if (c == '(') {
            ++at_;
            const int inner = parse_or();
            if (!accept(")")) {
                fail("expected \")\"");
            }
            return inner;
        }
        if (c == '"') {
            const std::size_t end = text_.find('"', at_ + 1);
            if (end == std::string_view::npos) {
                fail("unterminated string");
            }
            Node node;
            node.kind = Node::Kind::kString;
            node.op = std::string(text_.substr(at_ + 1, end - at_ - 1));
            at_ = end + 1;
            return add(std::move(node));
        }
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
            const std::string rest(text_.substr(at_));
            char* end = nullptr;
            const double number = std::strtod(rest.c_str(), &end);
            if (end == rest.c_str()) {
                fail("bad number");
            }
            Node node;
            node.kind = Node::Kind::kNumber;
            node.number = number;
            at_ += static_cast<std::size_t>(end - rest.c_str());
            return add(std::move(node));
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            const std::size_t start = at_;
            while (at_ < text_.size() &&
                   (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '_')) {
                ++at_;
            }
            Node node;
            node.kind = Node::Kind::kVariable;
            node.op = std::string(text_.substr(start, at_ - start));
            return add(std::move(node));
        }
        fail("unexpected \"" + std::string(1, c) + "\"");
    }

    std::string_view text_;
    std::vector<Node>& nodes_;
    std::size_t at_ = 0;
    int depth_ = 0;
};

Value number_value(double x) {
    Value v;
    v.number = x;
    return v;
}

bool truth(const Value& v) {
    return v.is_number ? v.number != 0 : !v.text.empty();
}

Value evaluate_node(const std::vector<Node>& nodes,
                    int index,
                    const SweepExpression::Variables& variables) {
    const Node& node = nodes[static_cast<std::size_t>(index)];
    switch (node.kind) {
        case Node::Kind::kNumber:
            return number_value(node.number);
        case Node::Kind::kString: {
            Value v;
            v.is_number = false;
            v.text = node.op;
            return v;
        }
        case Node::Kind::kVariable: {
            const auto it = variables.find(node.op);
            if (it == variables.end()) {
                throw UserError("unknown name \"" + node.op + "\"");
            }
            return it->second;
        }
        case Node::Kind::kUnary: {
            const Value operand = evaluate_node(nodes, node.left, variables);
            if (node.op == "!") {
                return number_value(truth(operand) ? 0 : 1);
            }
            if (!operand.is_number) {
                throw UserError("cannot negate the string \"" + operand.text + "\"");
            }
            return number_value(-operand.number);
        }
        case Node::Kind::kBinary:
            break;
    }
    const std::string& op = node.op;
    if (op == "&&" || op == "||") {
        const bool left = truth(evaluate_node(nodes, node.left, variables));
        if (op == "&&" ? !left : left) {
            return number_value(left ? 1 : 0);
        }
        return number_value(truth(evaluate_node(nodes, node.right, variables)) ? 1 : 0);
    }
    const Value a = evaluate_node(nodes, node.left, variables);
    const Value b = evaluate_node(nodes, node.right, variables);
    if (op == "==" || op == "!=") {
        bool equal = false;
        if (a.is_number && b.is_number) {
            equal = a.number == b.number;
        } else {
            equal = !a.is_number && !b.is_number && a.text == b.text;
        }
        return number_value((op == "==") == equal ? 1 : 0);
    }
    if (!a.is_number || !b.is_number) {
        const Value& text = a.is_number ? b : a;
        throw UserError("operator " + op + " needs numbers, got the string \"" + text.text + "\"");
    }
    const double x = a.number;
    const double y = b.number;
    if (op == "<") {
        return number_value(x < y ? 1 : 0);
    }
    if (op == "<=") {
        return number_value(x <= y ? 1 : 0);
    }
    if (op == ">") {
        return number_value(x > y ? 1 : 0);
    }
    if (op == ">=") {
        return number_value(x >= y ? 1 : 0);
    }
    if (op == "+") {
        return number_value(x + y);
    }
    if (op == "-") {
        return number_value(x - y);
    }
    if (op == "*") {
        return number_value(x * y);
    }
    if (y == 0) {
        throw UserError("division by zero in " + op);
    }
    if (op == "/") {
        return number_value(x / y);
    }
    return number_value(std::fmod(x, y));
}

}  // namespace

SweepExpression::SweepExpression(std::string_view text)
    : text_(text) {
    root_ = Parser(text, nodes_).parse();
}

std::vector<std::string> SweepExpression::variables() const {
    std::vector<std::string> names;
    for (const Node& node : nodes_) {
        if (node.kind == Node::Kind::kVariable) {
            names.push_back(node.op);
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

SweepExpression::Value SweepExpression::evaluate(const Variables& variables) const {
    return evaluate_node(nodes_, root_, variables);
}

bool SweepExpression::is_true(const Variables& variables) const {
    return truth(evaluate(variables));
}

SweepExpression::Value sweep_value(std::string_view text) {
    Value v;
    v.text = std::string(text);
    const std::string copy(text);
    char* end = nullptr;
    const double number = std::strtod(copy.c_str(), &end);
    if (!copy.empty() && end == copy.c_str() + copy.size() && std::isfinite(number)) {
        v.number = number;
        return v;
    }
    try {
        v.number = parse_duration_s(text);
        return v;
    } catch (const std::exception&) {
        v.is_number = false;
        return v;
    }
}

}  // namespace stepsim
