"""UI views, one module per area: process library, instances, inbox."""
