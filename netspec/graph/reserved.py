"""Names a node may not take: attributes of torch.nn.Module (and of the compiled model), which a
submodule of that name would shadow. A test checks this list against torch.nn.Module itself."""

RESERVED = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda
double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
get_submodule half ipu load_state_dict modules mtia named_buffers named_children named_modules
named_parameters parameters register_backward_hook register_buffer register_forward_hook
register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
set_extra_state set_submodule share_memory smart_load state_dict to to_empty train training type xpu
zero_grad graph graph_name input_names output_names outputs_dict forward_capture plan
""".split())
