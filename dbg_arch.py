from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120); at.run(); at.switch_page("pages/architecture.py").run()
at.selectbox(key="arch_selected").set_value("0.0").run()
at.number_input(key="arch_f_0_0_out_channels").set_value(48).run()
at.button(key="arch_check").click().run()
print("after", [s.value for s in at.success][:3])
