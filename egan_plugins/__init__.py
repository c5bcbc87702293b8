"""egan's built-in components, registered through the public ``egan.plugins`` entry point."""
