"""Graph-level machinery: node replacement across a frozen graph and its function library."""
