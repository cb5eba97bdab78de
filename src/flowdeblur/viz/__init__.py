"""Pictures of a restoration: flow colours, image panels."""
