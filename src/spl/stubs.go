package spl

func parseWhere(src, name string, start, end int) (Command, error) {
	return nil, newError(src, name, start, "where is not supported yet")
}

func parseEval(src, name string, start, end int) (Command, error) {
	return nil, newError(src, name, start, "eval is not supported yet")
}

func (p *cmdParser) regex() (Command, error) {
	return nil, p.errAt(p.peek(), "regex is not supported yet")
}
func (p *cmdParser) rex() (Command, error) { return nil, p.errAt(p.peek(), "rex is not supported yet") }
func (p *cmdParser) lookup() (Command, error) {
	return nil, p.errAt(p.peek(), "lookup is not supported yet")
}
